import type { Digest } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import type { BlobInfoCache } from '../blob-info-cache.js';
import { uploadBlob, uploadGrowingBlob } from '../blob-upload.js';
import type { GrowingSpool } from '../growing-spool.js';
import type { PreparedBlob } from '../prepared-blob.js';
import { RegistryResponseError, type RepositoryClient } from '../registry-client.js';
import type { ManifestBlob } from '../sources/image-source.js';
import type { UploadState } from '../upload-state.js';
import type { ImageDestination } from './image-destination.js';

export interface RegistryDestinationOptions {
  cache: BlobInfoCache;
  state: UploadState;
  chunkSize: number;
  smallBlobMax: number;
  /** Repositories on the same registry to try mounting from first (the source repository of a copy). */
  mountFrom?: string[];
  /** Who pushes (the user name of the login for this registry), for a refusal that says who was refused. */
  account?: string | undefined;
}

/** A repository of a registry as the destination: HEAD to skip, cross-repository mounts, resumable uploads. */
export class RegistryDestination implements ImageDestination {
  constructor(
    private readonly repo: RepositoryClient,
    private readonly options: RegistryDestinationOptions,
  ) {}

  get description(): string {
    return `docker://${this.repo.where}`;
  }

  /**
   * A refusal (403: the account is known, the permission is missing) becomes what it means for a push:
   * which repository, for whom; not the request that happened to meet it first (`checking blob …: 403`).
   */
  private async pushing<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof RegistryResponseError)) throw error;
      const account = this.options.account;
      // A 401 stays as it is: with a login it means the login itself failed (wrong or expired password).
      if (error.status === 403) {
        const who = account ?? 'an anonymous caller';
        throw new BerthError(
          'DENIED',
          `push to ${this.repo.name} is not allowed for ${who} on ${this.repo.host}${account === undefined ? ` (log in with \`berth login ${this.repo.host}\`)` : ''}`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  hasBlob(digest: Digest, signal?: AbortSignal): Promise<boolean> {
    return this.pushing(async () => (await this.repo.headBlob(digest, signal)) !== undefined);
  }

  mountSources(digest: Digest): string[] {
    return [
      ...(this.options.mountFrom ?? []),
      ...this.options.cache.locationsOn(digest, this.repo.host),
    ].filter((repo, i, all) => repo !== this.repo.name && all.indexOf(repo) === i);
  }

  async mountBlob(digest: Digest, from: string): Promise<boolean> {
    const result = await this.repo.mount(digest, from).catch(() => undefined);
    if (result === true) return true;
    // The registry opened an upload session instead: not needed, let it go.
    if (result) await this.repo.cancelUpload(result.location).catch(() => {});
    return false;
  }

  putBlob(blob: PreparedBlob, onBytes: (sent: number) => void, signal?: AbortSignal): Promise<number> {
    return this.pushing(() =>
      uploadBlob(this.repo, blob, {
        chunkSize: this.options.chunkSize,
        smallBlobMax: this.options.smallBlobMax,
        attempts: 5,
        state: this.options.state,
        onBytes,
        ...(signal ? { signal } : {}),
      }),
    );
  }

  putGrowingBlob(
    spool: GrowingSpool,
    key: string,
    onBytes: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    return this.pushing(() =>
      uploadGrowingBlob(this.repo, spool, key, {
        chunkSize: this.options.chunkSize,
        smallBlobMax: this.options.smallBlobMax,
        attempts: 5,
        state: this.options.state,
        onBytes,
        ...(signal ? { signal } : {}),
      }),
    );
  }

  async putManifest(reference: string, manifest: ManifestBlob, signal?: AbortSignal): Promise<void> {
    await this.pushing(() => this.repo.putManifest(reference, manifest.bytes, manifest.mediaType, signal));
  }

  recordBlob(digest: Digest): void {
    this.options.cache.recordLocation(digest, this.repo.host, this.repo.name);
  }

  async close(): Promise<void> {
    await this.options.cache.save().catch(() => {});
  }
}

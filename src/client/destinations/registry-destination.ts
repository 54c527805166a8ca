import type { Digest } from '../../oci/digest.js';
import type { BlobInfoCache } from '../blob-info-cache.js';
import { uploadBlob } from '../blob-upload.js';
import type { PreparedBlob } from '../prepared-blob.js';
import type { RepositoryClient } from '../registry-client.js';
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

  async hasBlob(digest: Digest, signal?: AbortSignal): Promise<boolean> {
    return (await this.repo.headBlob(digest, signal)) !== undefined;
  }

  async mountBlob(digest: Digest): Promise<string | undefined> {
    const candidates = [
      ...(this.options.mountFrom ?? []),
      ...this.options.cache.locationsOn(digest, this.repo.host),
    ].filter((repo, i, all) => repo !== this.repo.name && all.indexOf(repo) === i);
    for (const from of candidates.slice(0, 3)) {
      const result = await this.repo.mount(digest, from).catch(() => undefined);
      if (result === true) return from;
      // The registry opened an upload session instead: not needed, let it go.
      if (result) await this.repo.cancelUpload(result.location).catch(() => {});
    }
    return undefined;
  }

  putBlob(blob: PreparedBlob, onBytes: (sent: number) => void, signal?: AbortSignal): Promise<void> {
    return uploadBlob(this.repo, blob, {
      chunkSize: this.options.chunkSize,
      smallBlobMax: this.options.smallBlobMax,
      attempts: 5,
      state: this.options.state,
      onBytes,
      ...(signal ? { signal } : {}),
    });
  }

  async putManifest(reference: string, manifest: ManifestBlob, signal?: AbortSignal): Promise<void> {
    await this.repo.putManifest(reference, manifest.bytes, manifest.mediaType, signal);
  }

  recordBlob(digest: Digest): void {
    this.options.cache.recordLocation(digest, this.repo.host, this.repo.name);
  }

  async close(): Promise<void> {
    await this.options.cache.save().catch(() => {});
  }
}

import { join } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

interface StateFile {
  version: 1;
  /** `host/repository@digest` → the registry's upload location and when it was last used. */
  uploads: Record<string, { location: string; updated: number }>;
}

// Registries purge abandoned uploads after a while (Berth and Distribution: a day or more); older is useless.
const MAX_AGE_MS = 7 * 24 * 3_600_000;

/**
 * The upload sessions of pushes under way, kept in a small file so that a push stopped by Ctrl-C or a crash
 * and started again continues each partly uploaded blob from where the registry says it stands.
 */
export class UploadState {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly data: StateFile,
  ) {}

  static async open(cacheDir: string): Promise<UploadState> {
    const path = join(cacheDir, 'uploads.json');
    const data = await readJsonFile<StateFile>(path, { version: 1, uploads: {} });
    const fresh: StateFile = { version: 1, uploads: {} };
    const now = Date.now();
    for (const [key, value] of Object.entries(data.uploads ?? {})) {
      if (value && typeof value.location === 'string' && now - value.updated < MAX_AGE_MS)
        fresh.uploads[key] = value;
    }
    return new UploadState(path, fresh);
  }

  private key(host: string, repository: string, digest: Digest): string {
    return `${host}/${repository}@${digest}`;
  }

  get(host: string, repository: string, digest: Digest): string | undefined {
    return this.data.uploads[this.key(host, repository, digest)]?.location;
  }

  set(host: string, repository: string, digest: Digest, location: string): Promise<void> {
    this.data.uploads[this.key(host, repository, digest)] = { location, updated: Date.now() };
    return this.persist();
  }

  delete(host: string, repository: string, digest: Digest): Promise<void> {
    if (!(this.key(host, repository, digest) in this.data.uploads)) return Promise.resolve();
    delete this.data.uploads[this.key(host, repository, digest)];
    return this.persist();
  }

  /** Writes one after the other, so that concurrent uploads never interleave two versions of the file. */
  private persist(): Promise<void> {
    this.chain = this.chain.then(() => writeJsonFile(this.path, this.data)).catch(() => {});
    return this.chain;
  }
}

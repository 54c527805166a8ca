import { join } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export type Compression = 'gzip' | 'zstd' | 'none';

interface CacheFile {
  version: 1;
  /** Uncompressed digest (diffID) → the compressed blob Berth made of it. */
  compressed: Record<string, Partial<Record<Compression, { digest: string; size: number }>>>;
  /** Blob digest → `host/repository` places it is known to be (newest first), for cross-repository mounts. */
  locations: Record<string, string[]>;
}

const MAX_LOCATIONS = 8;
const MAX_ENTRIES = 20_000;

/**
 * What Berth learned about blobs on earlier runs, like skopeo's blob-info cache: which compressed blob a layer
 * became (so a re-push can check the registry without compressing again), and where a blob already is (so it
 * can be mounted instead of uploaded).
 */
export class BlobInfoCache {
  private dirty = false;

  private constructor(
    private readonly path: string,
    private readonly data: CacheFile,
  ) {}

  static async open(cacheDir: string): Promise<BlobInfoCache> {
    const path = join(cacheDir, 'blob-info.json');
    const data = await readJsonFile<CacheFile>(path, { version: 1, compressed: {}, locations: {} });
    if (data.version !== 1 || !data.compressed || !data.locations)
      return new BlobInfoCache(path, { version: 1, compressed: {}, locations: {} });
    return new BlobInfoCache(path, data);
  }

  compressedOf(diffId: Digest, compression: Compression): { digest: Digest; size: number } | undefined {
    const entry = this.data.compressed[diffId]?.[compression];
    return entry ? { digest: entry.digest as Digest, size: entry.size } : undefined;
  }

  recordCompressed(diffId: Digest, compression: Compression, blob: { digest: Digest; size: number }): void {
    this.data.compressed[diffId] = { ...this.data.compressed[diffId], [compression]: blob };
    this.dirty = true;
  }

  /** Repositories on `host` known to hold the blob, newest first. */
  locationsOn(digest: Digest, host: string): string[] {
    const prefix = `${host}/`;
    return (this.data.locations[digest] ?? [])
      .filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length));
  }

  recordLocation(digest: Digest, host: string, repository: string): void {
    const where = `${host}/${repository}`;
    const list = this.data.locations[digest] ?? [];
    if (list[0] === where) return;
    this.data.locations[digest] = [where, ...list.filter((l) => l !== where)].slice(0, MAX_LOCATIONS);
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const trim = (record: Record<string, unknown>): void => {
      const keys = Object.keys(record);
      for (const key of keys.slice(0, Math.max(keys.length - MAX_ENTRIES, 0))) delete record[key];
    };
    trim(this.data.compressed);
    trim(this.data.locations);
    await writeJsonFile(this.path, this.data);
    this.dirty = false;
  }
}

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, digestAlgorithm, digestHex } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import { MediaType } from '../../oci/media-types.js';
import type { PreparedBlob } from '../prepared-blob.js';
import type { ManifestBlob } from '../sources/image-source.js';
import type { ImageDestination } from './image-destination.js';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * An OCI image layout folder as the destination (`oci:DIR[:TAG]`), created when missing. Blobs are written
 * to a temporary name, checked against their digest, then renamed; index.json is rewritten atomically.
 */
export class OciLayoutDestination implements ImageDestination {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<OciLayoutDestination> {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const marker = join(dir, 'oci-layout');
    if (!(await stat(marker).catch(() => undefined))) {
      await writeFile(marker, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    }
    return new OciLayoutDestination(dir);
  }

  get description(): string {
    return `oci:${this.dir}`;
  }

  private blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return (await stat(this.blobPath(digest)).catch(() => undefined)) !== undefined;
  }

  mountSources(): string[] {
    return [];
  }

  async mountBlob(): Promise<boolean> {
    return false;
  }

  async putBlob(blob: PreparedBlob, onBytes: (sent: number) => void, signal?: AbortSignal): Promise<number> {
    const target = this.blobPath(blob.digest);
    await mkdir(join(target, '..'), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    const hash = createHash(digestAlgorithm(blob.digest));
    let sent = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        sent += chunk.length;
        onBytes(sent);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(await blob.open(0, signal), meter, createWriteStream(temp), signal ? { signal } : {});
      const actual = `${digestAlgorithm(blob.digest)}:${hash.digest('hex')}`;
      if (actual !== blob.digest || sent !== blob.size) {
        throw new BerthError(
          'BLOB_CORRUPT',
          `${this.description}: blob ${blob.digest} arrived as ${actual} (${sent} bytes)`,
        );
      }
      await rename(temp, target);
      return sent;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async putManifest(reference: string, manifest: ManifestBlob): Promise<void> {
    const target = this.blobPath(manifest.digest);
    await writeFile(`${target}.tmp`, manifest.bytes);
    await rename(`${target}.tmp`, target);
    if (reference === manifest.digest) return;
    const indexPath = join(this.dir, 'index.json');
    const index = await readFile(indexPath, 'utf8')
      .then((text) => JSON.parse(text) as LayoutIndex)
      .catch((): LayoutIndex => ({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== reference);
    index.manifests.push({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
      annotations: { [REF_NAME]: reference },
    });
    await writeFile(`${indexPath}.tmp`, JSON.stringify(index));
    await rename(`${indexPath}.tmp`, indexPath);
  }

  recordBlob(): void {}

  async close(): Promise<void> {}
}

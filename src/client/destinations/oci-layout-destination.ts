import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { publishFile, temporaryPathFor, writeAtomically } from '../../files/atomic-write.js';
import { withFileLock } from '../../files/file-lock.js';
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

// Layout files are as readable as the folder they are in, like what an image tool writes.
const LAYOUT_FILE = { mode: 0o644, folderMode: 0o755 } as const;

/**
 * Read, change, write of index.json under a lock file beside it, so that two copies into one layout (from this
 * process or another) both keep their tag.
 */
async function updateIndex(dir: string, change: (index: LayoutIndex) => void): Promise<void> {
  const indexPath = join(dir, 'index.json');
  await withFileLock(
    `${indexPath}.lock`,
    async () => {
      const index = await readFile(indexPath, 'utf8')
        .then((text) => JSON.parse(text) as LayoutIndex)
        .catch((): LayoutIndex => ({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
      change(index);
      await writeAtomically(indexPath, JSON.stringify(index), LAYOUT_FILE);
    },
    {
      // An index update takes milliseconds: a lock this old was left by a process that died.
      staleMs: 60_000,
      waitMs: 30_000,
      busy: (lock) =>
        new BerthError(
          'LAYOUT_BUSY',
          `${dir}: another process holds ${lock}; remove it if no copy is running`,
        ),
    },
  );
}

/**
 * An OCI image layout folder as the destination (`oci:DIR[:TAG]`), created when missing. Every file is written
 * to a temporary name of its own (so two writers never share one), checked against its digest where it has one,
 * then published atomically (files/atomic-write.ts).
 */
export class OciLayoutDestination implements ImageDestination {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<OciLayoutDestination> {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const marker = join(dir, 'oci-layout');
    if (!(await stat(marker).catch(() => undefined))) {
      await writeAtomically(marker, JSON.stringify({ imageLayoutVersion: '1.0.0' }), LAYOUT_FILE);
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
    const temp = temporaryPathFor(target);
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
      await publishFile(temp, target);
      return sent;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async putManifest(reference: string, manifest: ManifestBlob): Promise<void> {
    await writeAtomically(this.blobPath(manifest.digest), manifest.bytes, LAYOUT_FILE);
    if (reference === manifest.digest) return;
    await updateIndex(this.dir, (index) => {
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== reference);
      index.manifests.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.length,
        annotations: { [REF_NAME]: reference },
      });
    });
  }

  recordBlob(): void {}

  async close(): Promise<void> {}
}

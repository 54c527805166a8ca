import { createHash, type Hash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Blob, writeImageFiles } from './oci-layout-writer.js';

export type { Blob } from './oci-layout-writer.js';
export { OCI_MANIFEST } from './oci-layout-writer.js';

const CHUNK = 1024 * 1024;
const TAR_BLOCK = 512;

export interface ImageSpec {
  /** Short label used in tables and repository names, e.g. `512MiB`. */
  label: string;
  layers: number;
  /** Random payload bytes per layer (the one file inside each layer's tar). */
  layerBytes: number;
}

export interface RandomImage {
  spec: ImageSpec;
  /** The OCI layout folder; skopeo reads it as `oci:LAYOUT:TAG`. */
  layout: string;
  tag: string;
  manifestDigest: string;
  config: Blob;
  layers: Blob[];
  /** Everything a push sends: manifest, config and layer bytes. */
  totalBytes: number;
}

/** One ustar header for a regular file; enough for a valid single-file layer. */
export function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (offset: number, length: number, value: number): void => {
    field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  };
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** A tar stream holding one file of `size` fresh random bytes: incompressible and unique to this run. */
function randomTar(name: string, size: number): Readable {
  const parts: Array<() => Buffer> = [() => tarHeader(name, size)];
  for (let done = 0; done < size; done += CHUNK) {
    const length = Math.min(CHUNK, size - done);
    parts.push(() => randomFillSync(Buffer.allocUnsafe(length)));
  }
  const padding = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
  parts.push(() => Buffer.alloc(padding + 2 * TAR_BLOCK)); // the end-of-archive marker is two zero blocks
  let next = 0;
  return new Readable({
    read() {
      const part = parts[next++];
      this.push(part ? part() : null);
    },
  });
}

/** Feeds a hash and counts bytes as they pass. */
class HashTap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Writes a layer as a gzip stream at level 0 (stored blocks): a real gzip, so skopeo sees a compressed layer
 * and pushes it byte for byte instead of compressing it, yet building it costs no deflate CPU.
 */
async function writeLayer(layout: string, index: number, size: number): Promise<Blob & { diffId: string }> {
  const temp = join(layout, 'blobs', 'sha256', `.partial-${index}`);
  const uncompressed = new HashTap();
  const compressed = new HashTap();
  await pipeline(
    randomTar(`payload-${String(index).padStart(3, '0')}.bin`, size),
    uncompressed,
    createGzip({ level: 0, chunkSize: CHUNK }),
    compressed,
    createWriteStream(temp),
  );
  const hex = compressed.hash.digest('hex');
  await rename(temp, join(layout, 'blobs', 'sha256', hex));
  return {
    digest: `sha256:${hex}`,
    size: compressed.bytes,
    diffId: `sha256:${uncompressed.hash.digest('hex')}`,
  };
}

/** Builds an OCI image layout of random, incompressible layers, tagged `v1`. */
export async function buildRandomImage(layout: string, spec: ImageSpec): Promise<RandomImage> {
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers: Array<Blob & { diffId: string }> = [];
  for (let i = 0; i < spec.layers; i++) layers.push(await writeLayer(layout, i, spec.layerBytes));
  const tag = 'v1';
  const { config, manifest } = await writeImageFiles(layout, { label: spec.label, tag, layers });
  const blobs = layers.map(({ digest, size }) => ({ digest, size }));
  return {
    spec,
    layout,
    tag,
    manifestDigest: manifest.digest,
    config,
    layers: blobs,
    totalBytes: manifest.size + config.size + blobs.reduce((sum, b) => sum + b.size, 0),
  };
}

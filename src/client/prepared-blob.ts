import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { publishFile, temporaryPathFor } from '../files/atomic-write.js';
import { type Digest, digestAlgorithm } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { BlobInfoCache, Compression } from './blob-info-cache.js';
import { GrowingSpool } from './growing-spool.js';
import { LayerReading } from './layer-reading.js';
import { GZIP_BLOCK_SIZE, ParallelGzip } from './parallel-gzip.js';
import type { ImageSource } from './sources/image-source.js';
import { zstdToSpool } from './zstd-layer.js';

/** A blob ready to go: its final digest, size and media type, and a way to read it from any offset. */
export interface PreparedBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Whether it was compressed on the way (its manifest entry changes). */
  rewritten: boolean;
  open(offset: number, signal?: AbortSignal): Promise<Readable>;
  /** Removes a temporary compressed copy, if any. */
  release(): Promise<void>;
  /**
   * Set when the blob was uploaded while it was compressed (`streamUpload`): the bytes this run sent. It is
   * then at the destination already.
   */
  uploaded?: number;
}

export type CompressionChoice = 'auto' | 'gzip' | 'zstd' | 'none';

export interface CompressionOptions {
  choice: CompressionChoice;
  /**
   * Called with 0 when compression really starts (`auto` may decide against it), then with the bytes of
   * the source read so far as they go through the compressor.
   */
  onCompress?: (read: number) => void;
  level: number;
  cacheDir: string;
  cache: BlobInfoCache;
  /**
   * Uploads the compressed blob while it is being written (a destination that takes chunked uploads), keyed
   * by `key` for a resume; resolves to the bytes sent. Used for layers compressed in parallel; when it
   * fails, the layer is still complete in its spool file and goes up the ordinary way.
   */
  streamUpload?: (spool: GrowingSpool, key: string) => Promise<number>;
  /**
   * Called when the layer's bytes start going through the compressor: a stream that gets a copy of them
   * (the admission gate walking the same layer), or nothing.
   */
  readTap?: () => Writable | undefined;
}

const UNCOMPRESSED_LAYERS: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.oci.image.layer.v1.tar+gzip',
};
// `auto` compresses a layer unless its first bytes show it would not shrink by at least this much.
const SAMPLE_BYTES = 256 * 1024;
const WORTH_IT_RATIO = 0.9;
// zlib hands output back in chunks of this size; its 16 KiB default costs a JavaScript callback per 16 KiB.
const GZIP_CHUNK = 1024 * 1024;
// Below two blocks there is nothing to spread over the cores: one zlib stream does it without workers.
const PARALLEL_FROM = 2 * GZIP_BLOCK_SIZE;

/**
 * A blob pushed as the source holds it. Its digest is not checked on the way: every destination checks it on
 * arrival (a registry refuses the upload, an OCI layout hashes what it writes), so hashing here would only
 * do the same work twice.
 */
export function asIs(source: ImageSource, descriptor: Descriptor): PreparedBlob {
  return {
    digest: descriptor.digest,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
    rewritten: false,
    open: (offset, signal) =>
      source.openBlob(descriptor, { offset, verify: false, ...(signal ? { signal } : {}) }),
    release: async () => {},
  };
}

export function isUncompressedLayer(mediaType: string): boolean {
  return mediaType in UNCOMPRESSED_LAYERS;
}

/** The media type of an uncompressed layer once gzipped. */
export function gzipMediaType(mediaType: string): string {
  return UNCOMPRESSED_LAYERS[mediaType] ?? mediaType;
}

/** The compressor a choice uses on an uncompressed layer: zstd only when asked, gzip otherwise. */
export function compressorOf(choice: CompressionChoice): 'gzip' | 'zstd' {
  return choice === 'zstd' ? 'zstd' : 'gzip';
}

/** The media type of an uncompressed layer once compressed as `choice` says (zstd exists only in OCI). */
export function compressedMediaType(mediaType: string, choice: CompressionChoice): string {
  if (compressorOf(choice) === 'zstd' && isUncompressedLayer(mediaType)) return MediaType.ociLayerZstd;
  return gzipMediaType(mediaType);
}

/**
 * Prepares a layer: compressed with gzip into a spool file (so its digest is known before anything is sent,
 * and so that an interrupted upload can resume from any offset), or as it is when `none`, when already
 * compressed, or when `auto` finds it does not compress (random or already-compressed content).
 */
export async function prepareLayer(
  source: ImageSource,
  descriptor: Descriptor,
  options: CompressionOptions,
  signal?: AbortSignal,
): Promise<PreparedBlob> {
  if (!isUncompressedLayer(descriptor.mediaType) || options.choice === 'none')
    return asIs(source, descriptor);
  const compressor = compressorOf(options.choice);
  const compressedType = compressedMediaType(descriptor.mediaType, options.choice);
  const diffId = descriptor.digest;
  const suffix = compressor === 'zstd' ? 'zst' : 'gz';
  const spool = join(options.cacheDir, 'spool', `${diffId.replace(':', '-')}.${suffix}${options.level}`);
  const cached = options.cache.compressedOf(diffId, compressor);
  const spooled = await stat(spool).catch(() => undefined);
  if (cached && spooled && spooled.size === cached.size)
    return spoolBlob(spool, cached.digest, cached.size, compressedType);
  if (options.choice === 'auto' && !(await compressesWell(source, descriptor, options.level, signal))) {
    return asIs(source, descriptor);
  }
  options.onCompress?.(0);
  if (compressor === 'zstd') {
    const result = await zstdToSpool(
      source,
      descriptor,
      spool,
      options.level,
      options.onCompress,
      signal,
      options.readTap,
    );
    options.cache.recordCompressed(diffId, 'zstd' satisfies Compression, result);
    return spoolBlob(spool, result.digest, result.size, compressedType);
  }
  const growing =
    options.streamUpload && compressorFor(descriptor) === 'parallel' ? new GrowingSpool() : undefined;
  const streaming =
    growing && options.streamUpload
      ? options.streamUpload(growing, `stream:${diffId}:gzip${options.level}`).then(
          (sent) => ({ sent }),
          (error: unknown) => ({ error }),
        )
      : undefined;
  let result: { digest: Digest; size: number };
  try {
    result = await compressToSpool(source, descriptor, spool, options.level, options.onCompress, signal, {
      ...(growing ? { growing } : {}),
      ...(options.readTap ? { tap: options.readTap } : {}),
    });
  } catch (error) {
    growing?.fail(error as Error);
    await streaming;
    await growing?.close();
    throw error;
  }
  options.cache.recordCompressed(diffId, 'gzip' satisfies Compression, result);
  const blob = spoolBlob(spool, result.digest, result.size, compressedType);
  if (!growing || !streaming) return blob;
  growing.finish(result);
  const outcome = await streaming;
  await growing.close();
  if ('sent' in outcome) return { ...blob, uploaded: outcome.sent };
  // Interrupted: say so, rather than start the ordinary upload. Any other failure: the spool is complete.
  if (signal?.aborted) throw outcome.error;
  return blob;
}

/**
 * Which compressor a layer goes through: a layer of two blocks or more is compressed on every core, a
 * smaller one (or one named by another digest than sha256, which the parallel compressor does not compute)
 * through one zlib stream.
 */
function compressorFor(descriptor: Descriptor): 'parallel' | 'single' {
  return descriptor.size >= PARALLEL_FROM && digestAlgorithm(descriptor.digest) === 'sha256'
    ? 'parallel'
    : 'single';
}

/** Whether the first bytes of a layer shrink enough under gzip to be worth compressing. */
async function compressesWell(
  source: ImageSource,
  descriptor: Descriptor,
  level: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const sample = Math.min(SAMPLE_BYTES, descriptor.size);
  if (sample === 0) return true;
  const stream = await source.openBlob(descriptor, { verify: false, ...(signal ? { signal } : {}) });
  let seen = 0;
  let compressed = 0;
  const gzip = createGzip({ level, chunkSize: GZIP_CHUNK });
  gzip.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
  });
  try {
    for await (const chunk of stream) {
      const buffer = (chunk as Buffer).subarray(0, sample - seen);
      seen += buffer.length;
      gzip.write(buffer);
      if (seen >= sample) break;
    }
  } finally {
    stream.destroy();
  }
  await new Promise<void>((resolve) => gzip.end(resolve));
  return compressed / seen < WORTH_IT_RATIO;
}

/**
 * Compresses a layer into its spool file. A layer of two blocks or more is compressed on every core
 * (`ParallelGzip`); the source then does not hash it, since the compressor computes the diff_id anyway and
 * it is checked here before the spool is published. A smaller one goes through one zlib stream.
 */
async function compressToSpool(
  source: ImageSource,
  descriptor: Descriptor,
  spool: string,
  level: number,
  onRead: ((read: number) => void) | undefined,
  signal?: AbortSignal,
  outputs: { growing?: GrowingSpool; tap?: () => Writable | undefined } = {},
): Promise<{ digest: Digest; size: number }> {
  const { growing } = outputs;
  await mkdir(join(spool, '..'), { recursive: true, mode: 0o700 });
  const layerReading = new LayerReading(onRead);
  const reading = layerReading.stage;
  const temp = temporaryPathFor(spool);
  const parallel = compressorFor(descriptor) === 'parallel';
  const options = signal ? { signal } : {};
  try {
    const input = await source.openBlob(descriptor, { verify: !parallel, ...options });
    layerReading.attach(outputs.tap?.());
    let result: { digest: Digest; size: number };
    if (parallel) {
      const gzip = new ParallelGzip({ level });
      const compress = (chunks: AsyncIterable<Buffer>) => gzip.compress(chunks);
      const output = growing ? await growingFile(temp, growing) : createWriteStream(temp);
      await pipeline(input, reading, compress, output, options);
      // The source still checked the size; another diff_id means its bytes are not the layer it names.
      if (gzip.result.diffId !== descriptor.digest) {
        throw new BerthError(
          'BLOB_CORRUPT',
          `${source.description}: blob ${descriptor.digest} is corrupt: read content with digest ${gzip.result.diffId}`,
        );
      }
      result = { digest: gzip.result.digest, size: gzip.result.size };
    } else {
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      const gzip = createGzip({ level, chunkSize: GZIP_CHUNK });
      await pipeline(input, reading, gzip, meter, createWriteStream(temp), options);
      result = { digest: `sha256:${hash.digest('hex')}` as Digest, size };
    }
    await publishFile(temp, spool);
    return result;
  } catch (error) {
    layerReading.fail(error as Error);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * A writer of the spool file that tells `growing` how much of it is written, each write once it is in the
 * file (so a reader never reads past it); the reader's handle is opened before the first byte.
 */
async function growingFile(path: string, growing: GrowingSpool): Promise<Writable> {
  const handle: FileHandle = await open(path, 'w', 0o600);
  growing.attach(await open(path, 'r'));
  let position = 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const writeAll = async (): Promise<void> => {
        for (let done = 0; done < chunk.length; ) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
        growing.grew(position);
      };
      writeAll().then(() => callback(), callback);
    },
    final(callback) {
      close().then(() => callback(), callback);
    },
    destroy(error, callback) {
      close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

/**
 * Copies each chunk into `observer` too, waiting while it is full. An observer that went away (the gate
 * stopped reading that layer) is no reason to stop the copy.
 */
function spoolBlob(path: string, digest: Digest, size: number, mediaType: string): PreparedBlob {
  return {
    digest,
    size,
    mediaType,
    rewritten: true,
    async open(offset) {
      if (offset >= size) return new PassThrough().end();
      return createReadStream(path, { start: offset, highWaterMark: 1024 * 1024 });
    },
    release: () => rm(path, { force: true }),
  };
}

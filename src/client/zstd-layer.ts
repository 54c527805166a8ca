import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { publishFile, temporaryPathFor } from '../files/atomic-write.js';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { LayerReading } from './layer-reading.js';
import type { ImageSource } from './sources/image-source.js';

/**
 * Input per zstd worker job. zstd's default at level 3 is 8 MiB, and a stream holds several jobs' input and
 * output: measured on a Debian minbase layer (170 MiB), three streams at once (three layers in flight) peaked
 * at 250 MiB RSS with the default and 145 MiB with 2 MiB jobs, for 1.2% more bytes (and no loss of speed).
 */
const ZSTD_JOB_SIZE = 2 * 1024 * 1024;

interface ZstdModule {
  CompressStream: new (parameters?: {
    compressionLevel?: number;
    nbWorkers?: number;
    jobSize?: number;
    checksumFlag?: boolean;
  }) => Transform;
}

let loaded: ZstdModule | undefined;

/**
 * zstd-napi is an optional dependency (a native build that may be absent): it is loaded only when a push asks
 * for zstd, and its absence is a one-line error rather than a crash at start-up.
 */
export function loadZstd(): ZstdModule {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('zstd-napi') as ZstdModule;
    return loaded;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new BerthError(
      'USAGE',
      `--compression zstd needs the optional package zstd-napi, which is not installed: ${reason} (install it with npm, or use --compression gzip)`,
    );
  }
}

export interface ZstdLayerResult {
  /** sha256 and size of the zstd frame, as it is pushed. */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar: the layer's diff_id. */
  diffId: Digest;
}

/**
 * Compresses a stream into one zstd frame on every core (zstd's own worker threads, outside JavaScript),
 * hashing the tar (diff_id) and the frame as the bytes pass, so a layer is never held in memory and read once.
 * The frame carries zstd's content checksum, so `zstd -t` and every reader can check it.
 */
export function zstdCompressor(level: number): {
  steps: [Transform, Transform, Transform];
  result: () => ZstdLayerResult;
} {
  const { CompressStream } = loadZstd();
  const input = createHash('sha256');
  const output = createHash('sha256');
  let size = 0;
  const before = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      input.update(chunk);
      callback(null, chunk);
    },
  });
  const after = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      output.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const compress = new CompressStream({
    compressionLevel: level,
    nbWorkers: availableParallelism(),
    jobSize: ZSTD_JOB_SIZE,
    checksumFlag: true,
  });
  return {
    steps: [before, compress, after],
    result: () => ({
      digest: `sha256:${output.digest('hex')}` as Digest,
      size,
      diffId: `sha256:${input.digest('hex')}` as Digest,
    }),
  };
}

/**
 * Compresses a layer with zstd into its spool file (published only once complete and its diff_id checked, so
 * a spool file is always a whole, right layer and an interrupted upload resumes from it).
 */
export async function zstdToSpool(
  source: ImageSource,
  descriptor: Descriptor,
  spool: string,
  level: number,
  onRead: ((read: number) => void) | undefined,
  signal?: AbortSignal,
  tap?: () => Writable | undefined,
): Promise<{ digest: Digest; size: number }> {
  const compressor = zstdCompressor(level);
  await mkdir(join(spool, '..'), { recursive: true, mode: 0o700 });
  const layerReading = new LayerReading(onRead);
  const reading = layerReading.stage;
  const temp = temporaryPathFor(spool);
  const options = signal ? { signal } : {};
  try {
    // The compressor hashes the tar anyway: the source need not hash it a second time.
    const verify = !descriptor.digest.startsWith('sha256:');
    const input = await source.openBlob(descriptor, { verify, ...options });
    layerReading.attach(tap?.());
    await pipeline(input, reading, ...compressor.steps, createWriteStream(temp), options);
    const result = compressor.result();
    if (!verify && result.diffId !== descriptor.digest) {
      throw new BerthError(
        'BLOB_CORRUPT',
        `${source.description}: blob ${descriptor.digest} is corrupt: read content with digest ${result.diffId}`,
      );
    }
    await publishFile(temp, spool);
    return { digest: result.digest, size: result.size };
  } catch (error) {
    layerReading.fail(error as Error);
    await rm(temp, { force: true });
    throw error;
  }
}

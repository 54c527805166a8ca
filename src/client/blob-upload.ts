import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { GrowingSpool } from './growing-spool.js';
import type { PreparedBlob } from './prepared-blob.js';
import { RegistryResponseError, type RepositoryClient } from './registry-client.js';
import { NetworkError } from './transport/http-transport.js';
import type { UploadState } from './upload-state.js';

export interface UploadOptions {
  /** Bytes per PATCH; 0 sends the blob in one streamed PATCH. The registry's minimum is honoured. */
  chunkSize: number;
  /** Blobs up to this size go in the closing PUT (two requests in all; retried whole on failure). */
  smallBlobMax: number;
  /** How many times in a row a chunk may fail without the upload moving forward. */
  attempts: number;
  state: UploadState;
  onBytes?: (sent: number) => void;
  signal?: AbortSignal;
}

const RESUMABLE_STATUS = new Set([401, 408, 416, 429, 500, 502, 503, 504]);

/**
 * Uploads one blob: in one request when small, otherwise through an upload session, chunk after chunk,
 * reading the source once from front to back. When a request fails (connection cut, 5xx, an expired
 * token), it asks the registry where the upload stands and goes on from there; the session is kept in the
 * state file, so a push started again after Ctrl-C or a crash continues too.
 */
export async function uploadBlob(
  repo: RepositoryClient,
  blob: PreparedBlob,
  options: UploadOptions,
): Promise<number> {
  if (blob.size <= options.smallBlobMax && !options.state.get(repo.host, repo.name, blob.digest)) {
    const session = await repo.startUpload();
    await repo.completeUpload(session.location, blob.digest, options.signal, {
      open: () => blob.open(0, options.signal),
      size: blob.size,
    });
    options.onBytes?.(blob.size);
    return blob.size;
  }
  let { location, offset } = await openSession(repo, blob.digest, options);
  // What an earlier run left in the session was not sent by this one.
  const resumedAt = offset;
  options.onBytes?.(offset);
  let failures = 0;
  while (offset < blob.size) {
    const start = offset;
    let source: Readable | undefined;
    try {
      source = await blob.open(offset, options.signal);
      const reader = new ChunkReader(source);
      while (offset < blob.size) {
        const length =
          options.chunkSize > 0 ? Math.min(options.chunkSize, blob.size - offset) : blob.size - offset;
        const body = reader.take(length, (n) => options.onBytes?.(offset + n));
        const next = await repo.patch(location, body, offset, length, options.signal);
        location = next.location;
        offset = offset + length;
        failures = 0;
        await options.state.set(repo.host, repo.name, blob.digest, location);
      }
    } catch (error) {
      source?.destroy();
      if (options.signal?.aborted || !resumable(error)) throw error;
      failures = offset > start ? 0 : failures + 1;
      if (failures >= options.attempts) throw error;
      await sleep(Math.min(250 * 2 ** failures, 5000));
      const status = await repo.uploadStatus(location).catch(() => undefined);
      if (!status) {
        // The registry lost the session (purged, restarted without it): begin again.
        ({ location, offset } = await newSession(repo, blob.digest, options));
      } else {
        ({ location, offset } = status);
      }
      options.onBytes?.(offset);
    }
  }
  await repo.completeUpload(location, blob.digest, options.signal);
  await options.state.delete(repo.host, repo.name, blob.digest);
  return blob.size - resumedAt;
}

// A streamed upload's PATCH when the chunk size is 0 (one request): no length is known before the end.
const WHOLE = Number.MAX_SAFE_INTEGER;

/**
 * Uploads a blob while it is being compressed: each PATCH streams the spool file's bytes as the compressor
 * writes them (no Content-Length: the end of a chunk is known only once it is written), and the closing
 * `PUT ?digest=` goes once the compressor knows the digest. The session is kept in the state under `key`
 * (the layer and how it is compressed, since the digest is not known yet): compression is deterministic, so
 * a push started again compresses to the same bytes and continues the session where the registry stands.
 * Resolves to the bytes this run sent.
 */
export async function uploadGrowingBlob(
  repo: RepositoryClient,
  spool: GrowingSpool,
  key: string,
  options: UploadOptions,
): Promise<number> {
  const stateKey = key as Digest;
  let { location, offset } = await openSession(repo, stateKey, options);
  const resumedAt = offset;
  options.onBytes?.(offset);
  let failures = 0;
  let end: { digest: Digest; size: number } | undefined;
  while (!end || offset < end.size) {
    const start = offset;
    try {
      // A request starts only once there is something to send: a resumed session may be ahead of the
      // compressor, and a registry need not keep an idle request open.
      await spool.beyond(offset, options.signal);
      const max = options.chunkSize > 0 ? options.chunkSize : WHOLE;
      let sent = 0;
      const body = spool.read(offset, max, options.signal).on('data', (chunk: Buffer) => {
        sent += chunk.length;
        options.onBytes?.(start + sent);
      });
      const next = await repo.patch(location, body, offset, undefined, options.signal);
      location = next.location;
      // A registry that answers without a Range is taken at its word that it stored what was sent.
      offset = next.offset > start ? next.offset : start + sent;
      failures = 0;
      await options.state.set(repo.host, repo.name, stateKey, location);
      // An empty PATCH means the spool has nothing more: the compressor finished.
      if (sent === 0) end = await spool.done;
      else if (spool.size <= offset) end = await doneIfFinished(spool);
    } catch (error) {
      // The compressor's failure is the news, whatever the request made of it.
      if (spool.failure) throw spool.failure;
      if (options.signal?.aborted || !resumable(error)) throw error;
      failures = offset > start ? 0 : failures + 1;
      if (failures >= options.attempts) throw error;
      await sleep(Math.min(250 * 2 ** failures, 5000));
      const status = await repo.uploadStatus(location).catch(() => undefined);
      if (!status) ({ location, offset } = await newSession(repo, stateKey, options));
      else ({ location, offset } = status);
      options.onBytes?.(offset);
    }
  }
  try {
    if (offset !== end.size) {
      throw new BerthError(
        'REGISTRY_ERROR',
        `${repo.where}: the upload session holds ${offset} bytes of a ${end.size}-byte blob`,
      );
    }
    await repo.completeUpload(location, end.digest, options.signal);
  } catch (error) {
    // A session that does not add up to this blob (an earlier run compressed differently) is no use again.
    if (!options.signal?.aborted) await options.state.delete(repo.host, repo.name, stateKey);
    throw error;
  }
  await options.state.delete(repo.host, repo.name, stateKey);
  return end.size - resumedAt;
}

/** The spool's final digest and size when the compressor is done, without waiting for it otherwise. */
async function doneIfFinished(spool: GrowingSpool): Promise<{ digest: Digest; size: number } | undefined> {
  const pending = Symbol('pending');
  const result = await Promise.race([spool.done, Promise.resolve(pending)]);
  return result === pending ? undefined : (result as { digest: Digest; size: number });
}

function resumable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof RegistryResponseError) return RESUMABLE_STATUS.has(error.status);
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  return /ECONNRESET|EPIPE|UND_ERR/.test(code);
}

async function openSession(
  repo: RepositoryClient,
  digest: Digest,
  options: UploadOptions,
): Promise<{ location: string; offset: number }> {
  const saved = options.state.get(repo.host, repo.name, digest);
  if (saved) {
    const status = await repo.uploadStatus(saved).catch(() => undefined);
    if (status) return status;
  }
  return newSession(repo, digest, options);
}

async function newSession(
  repo: RepositoryClient,
  digest: Digest,
  options: UploadOptions,
): Promise<{ location: string; offset: number }> {
  const session = await repo.startUpload();
  if (session.chunkMinLength > 0 && options.chunkSize > 0 && options.chunkSize < session.chunkMinLength) {
    options.chunkSize = session.chunkMinLength;
  }
  await options.state.set(repo.host, repo.name, digest, session.location);
  return { location: session.location, offset: 0 };
}

/**
 * Cuts one sequential source into consecutive chunk streams of exact lengths, without buffering a chunk:
 * each chunk is a stream that ends after its bytes; what it read past its end waits for the next chunk.
 */
class ChunkReader {
  private leftover: Buffer | undefined;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(source: Readable) {
    this.iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  take(length: number, progress: (sent: number) => void): Readable {
    let remaining = length;
    let sent = 0;
    const self = this;
    const generator = async function* (): AsyncGenerator<Buffer> {
      while (remaining > 0) {
        let chunk = self.leftover;
        self.leftover = undefined;
        if (!chunk) {
          const next = await self.iterator.next();
          if (next.done)
            throw new BerthError('BLOB_CORRUPT', 'the source ended before the blob was complete');
          chunk = next.value;
        }
        if (chunk.length > remaining) {
          self.leftover = chunk.subarray(remaining);
          chunk = chunk.subarray(0, remaining);
        }
        remaining -= chunk.length;
        sent += chunk.length;
        progress(sent);
        yield chunk;
      }
    };
    return Readable.from(generator(), { objectMode: false });
  }
}

import { createHash, type Hash, randomUUID } from 'node:crypto';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, type DigestAlgorithm, digestAlgorithm, digestHex } from '../oci/digest.js';
import type { ByteRange, ObjectDriver } from './object-driver.js';
import { StorageError } from './storage-error.js';
import { isStorageFullError, type StorageReserve } from './storage-reserve.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface UploadWriter {
  readonly id: string;
  /** Bytes stored so far. */
  readonly size: number;
  /**
   * Appends a request body. `offset`, when given, must equal the current size (else `offset-mismatch`); when
   * `length` is given the body must be exactly that long (else `length-mismatch`, and the bytes of this call
   * are taken back). Errors are `StorageError`s (see storage-error.ts) or the connection's own. A body cut short by a broken connection keeps what arrived, so the client can ask for
   * the status and continue from there. Returns the new size.
   */
  append(body: Readable, options?: AppendOptions): Promise<number>;
  /** Verifies the digest over all stored bytes and publishes the blob atomically; on a mismatch (`digest-mismatch`) the upload is gone. */
  commit(expected: Digest): Promise<BlobInfo>;
  cancel(): Promise<void>;
}

export interface AppendOptions {
  offset?: number | undefined;
  length?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface BlobStore {
  stat(d: Digest): Promise<BlobInfo | undefined>;
  /** Throws `blob-unknown` when there are no bytes for the digest. */
  read(d: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  redirectUrl(d: Digest): Promise<string | undefined>;
  delete(d: Digest): Promise<void>;
  list(): AsyncIterable<BlobInfo>;
  createUpload(): Promise<UploadWriter>;
  /** Reopens an upload by id: works after a restart or on another node. Throws `upload-unknown`. */
  resumeUpload(id: string): Promise<UploadWriter>;
  /** Upload ids present in storage, with their last modification time (for expiry). */
  listUploads(): AsyncIterable<{ id: string; modified: Date }>;
  /** Size and last write of an upload's bytes, or undefined when storage has none. */
  statUpload(id: string): Promise<{ size: number; modified: Date } | undefined>;
  /**
   * Moves a blob's bytes aside (under `quarantine/`), so that it reads as missing and a push or mount stores
   * it again. Returns where the bytes went, or undefined when there was no blob, or when the bytes found
   * there match the digest after all (a push repaired it meanwhile: they stay in place).
   */
  quarantine(d: Digest, now: number): Promise<string | undefined>;
}

export interface BlobStoreOptions {
  /** Room kept for deletes on a full disk; new uploads are refused while it is released. */
  reserve?: StorageReserve | undefined;
  /** How long a request for an upload waits for another request writing to it to end (a cut one flushing). */
  settleWaitMs?: number | undefined;
}

/** The running hash of an upload, valid while `offset` equals the stored size. Lives only in this process. */
interface HashState {
  hash: Hash;
  offset: number;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Bound on remembered running hashes; an abandoned upload falls out and is re-hashed if it ever commits.
const MAX_HASH_STATES = 10_000;
// How long a request for an upload waits for another request writing to it to end (a cut one flushing).
const SETTLE_WAIT_MS = 5_000;

export function blobPath(d: Digest): string {
  const hex = digestHex(d);
  return `blobs/${digestAlgorithm(d)}/${hex.slice(0, 2)}/${hex}`;
}

function uploadPath(id: string): string {
  return `uploads/${id}/data`;
}

export function isUploadId(id: string): boolean {
  return UPLOAD_ID.test(id);
}

/** The one blob store: content-addressed bytes shared by every repository, on any `ObjectDriver`. */
export class DriverBlobStore implements BlobStore {
  private readonly hashes = new Map<string, HashState>();
  // Upload id → settles when the request writing to it ends (a broken connection is still flushing).
  private readonly busy = new Map<string, Promise<void>>();

  constructor(
    readonly driver: ObjectDriver,
    private readonly options: BlobStoreOptions = {},
  ) {}

  async stat(d: Digest): Promise<BlobInfo | undefined> {
    const info = await this.driver.stat(blobPath(d));
    return info ? { digest: d, size: info.size } : undefined;
  }

  async read(d: Digest, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    try {
      return await this.driver.read(blobPath(d), range, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new StorageError('blob-unknown', { digest: d });
      throw error;
    }
  }

  redirectUrl(d: Digest): Promise<string | undefined> {
    return this.driver.redirectUrl(blobPath(d));
  }

  delete(d: Digest): Promise<void> {
    return this.driver.delete(blobPath(d));
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const info of this.driver.list('blobs/')) {
      const [, algorithm, , hex] = info.path.split('/');
      if (algorithm && hex) yield { digest: `${algorithm}:${hex}` as Digest, size: info.size };
    }
  }

  async *listUploads(): AsyncIterable<{ id: string; modified: Date }> {
    for await (const info of this.driver.list('uploads/')) {
      const [, id, file] = info.path.split('/');
      if (id && file === 'data') yield { id, modified: info.modified };
    }
  }

  async statUpload(id: string): Promise<{ size: number; modified: Date } | undefined> {
    if (!isUploadId(id)) return undefined;
    const info = await this.driver.stat(uploadPath(id));
    return info ? { size: info.size, modified: info.modified } : undefined;
  }

  async createUpload(): Promise<UploadWriter> {
    await this.admitWrite();
    const id = randomUUID();
    try {
      await this.driver.create(uploadPath(id));
    } catch (error) {
      if (!isStorageFullError(error)) throw error;
      await this.driver.delete(`uploads/${id}/`);
      throw await this.storageFull();
    }
    this.remember(id, { hash: createHash('sha256'), offset: 0 });
    return new DriverUpload(this, id, 0);
  }

  async resumeUpload(id: string): Promise<UploadWriter> {
    if (!isUploadId(id)) throw new StorageError('upload-unknown', { upload: id });
    // A status asked while a cut request is still flushing must count the bytes that request got.
    await this.settled(id);
    const info = await this.driver.stat(uploadPath(id));
    if (!info) throw new StorageError('upload-unknown', { upload: id });
    return new DriverUpload(this, id, info.size);
  }

  async quarantine(d: Digest, now: number): Promise<string | undefined> {
    const aside = `quarantine/${digestAlgorithm(d)}/${digestHex(d)}.${now}`;
    try {
      await this.driver.publish(blobPath(d), aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    // A push may have published good bytes between the caller's check and the move: those go back.
    if ((await this.hashObject(aside, digestAlgorithm(d))) === d) {
      await this.driver.publish(aside, blobPath(d));
      return undefined;
    }
    return aside;
  }

  private async hashObject(path: string, algorithm: DigestAlgorithm): Promise<Digest> {
    const hash = createHash(algorithm);
    for await (const chunk of await this.driver.read(path)) hash.update(chunk as Buffer);
    return `${algorithm}:${hash.digest('hex')}` as Digest;
  }

  /** @internal Throws StorageError `full` while the disk is full and no space came back. */
  async admitWrite(): Promise<void> {
    await this.options.reserve?.admitWrite();
  }

  /** @internal Whether writes in flight should stop: the disk filled up under another request. */
  get refusingWrites(): boolean {
    return this.options.reserve?.isFull ?? false;
  }

  /** @internal A write hit a full disk: frees the reserve for deletes and gives the error to answer with. */
  async storageFull(): Promise<StorageError> {
    await this.options.reserve?.release('blob store');
    return new StorageError('full');
  }

  /** @internal */
  remember(id: string, state: HashState): void {
    this.hashes.delete(id);
    this.hashes.set(id, state);
    if (this.hashes.size > MAX_HASH_STATES) {
      const oldest = this.hashes.keys().next().value;
      if (oldest !== undefined) this.hashes.delete(oldest);
    }
  }

  /** @internal */
  hashState(id: string): HashState | undefined {
    return this.hashes.get(id);
  }

  /** @internal */
  forget(id: string): void {
    this.hashes.delete(id);
  }

  /**
   * @internal One request at a time per upload in this process. A second one first waits a little for the
   * first to end: after a cut connection the client asks again at once, while this process may still be
   * flushing the bytes that arrived. A writer still busy after that is a second live writer: a client error.
   */
  async lock(id: string, size: () => number): Promise<() => void> {
    // Checked and taken without a pause when free, so that a request that came first holds it first.
    if (this.busy.has(id)) await this.settled(id);
    if (this.busy.has(id)) {
      throw new StorageError(
        'upload-busy',
        { upload: id, reason: 'another request is writing to this upload' },
        size(),
      );
    }
    let release = (): void => {};
    this.busy.set(
      id,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => {
      this.busy.delete(id);
      release();
    };
  }

  /** @internal Waits (a bounded while) until no request of this process is writing to the upload. */
  async settled(id: string): Promise<void> {
    if (!this.busy.has(id)) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.settleWaitMs ?? SETTLE_WAIT_MS);
    });
    try {
      for (let pending = this.busy.get(id); pending; pending = this.busy.get(id)) {
        if (!(await Promise.race([pending.then(() => true), deadline]))) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** @internal Hashes the stored bytes of an upload from the start. */
  async rehash(id: string, algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = createHash(algorithm);
    const stream = await this.driver.read(uploadPath(id));
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash;
  }
}

class DriverUpload implements UploadWriter {
  constructor(
    private readonly store: DriverBlobStore,
    readonly id: string,
    private stored: number,
  ) {}

  get size(): number {
    return this.stored;
  }

  async append(body: Readable, options: AppendOptions = {}): Promise<number> {
    const { offset: expectedOffset, length: expectedLength, signal } = options;
    const path = uploadPath(this.id);
    const unlock = await this.store.lock(this.id, () => this.stored);
    try {
      await this.store.admitWrite();
      const current = (await this.store.driver.stat(path))?.size;
      if (current === undefined) throw new StorageError('upload-unknown', { upload: this.id });
      this.stored = current;
      if (expectedOffset !== undefined && expectedOffset !== current) {
        throw new StorageError(
          'offset-mismatch',
          { upload: this.id, offset: current, requested: expectedOffset },
          current,
        );
      }
      const state = this.store.hashState(this.id);
      const running = state && state.offset === current ? state : undefined;
      const saved = running?.hash.copy();
      const meter = new Meter(running?.hash, expectedLength);
      try {
        const out = await this.store.driver.openAppend(path);
        // A request body that breaks (the client went away) ends the copy cleanly instead of destroying it,
        // so every byte that arrived is flushed to storage before the error is reported.
        let broken: unknown;
        let refused = false;
        const store = this.store;
        const guarded = async function* (): AsyncGenerator<Buffer> {
          try {
            // The body is not destroyed when storage stops the copy, so the client can still read the answer.
            for await (const chunk of body.iterator({ destroyOnReturn: false })) {
              if (signal?.aborted) throw signal.reason;
              // Another request found the disk full: stop here rather than eat the room kept for deletes.
              if (store.refusingWrites) {
                refused = true;
                return;
              }
              yield chunk as Buffer;
            }
          } catch (error) {
            broken = error ?? new Error('request body failed');
          }
        };
        await pipeline(guarded, meter, out);
        if (refused) throw new StorageError('full');
        if (broken) throw broken;
        if (expectedLength !== undefined && meter.count !== expectedLength) {
          throw new StorageError('length-mismatch', {
            reason: 'body shorter than announced',
            expected: expectedLength,
            received: meter.count,
          });
        }
        this.stored = current + meter.count;
        if (running) this.store.remember(this.id, { hash: running.hash, offset: this.stored });
        return this.stored;
      } catch (caught) {
        const error = isStorageFullError(caught) ? await this.store.storageFull() : caught;
        const after = (await this.store.driver.stat(path))?.size ?? current;
        if (error instanceof StorageError) {
          // The client broke the contract of this request: take back every byte of it.
          await this.store.driver.truncate(path, current);
          this.stored = current;
          if (running && saved) this.store.remember(this.id, { hash: saved, offset: current });
        } else {
          // The connection broke: keep what arrived so the client can resume from there.
          this.stored = after;
          if (running && after !== current + meter.hashed) this.store.forget(this.id);
          else if (running) this.store.remember(this.id, { hash: running.hash, offset: after });
        }
        throw error;
      }
    } finally {
      unlock();
    }
  }

  async commit(expected: Digest): Promise<BlobInfo> {
    const unlock = await this.store.lock(this.id, () => this.stored);
    try {
      const path = uploadPath(this.id);
      const info = await this.store.driver.stat(path);
      if (!info) throw new StorageError('upload-unknown', { upload: this.id });
      const algorithm = digestAlgorithm(expected);
      const state = this.store.hashState(this.id);
      const hash =
        state && state.offset === info.size && algorithm === 'sha256'
          ? state.hash.copy()
          : await this.store.rehash(this.id, algorithm);
      const actual = `${algorithm}:${hash.digest('hex')}` as Digest;
      if (actual !== expected) {
        await this.remove();
        throw new StorageError('digest-mismatch', { expected, actual, size: info.size });
      }
      // Published even when the blob exists: these bytes were just verified, the stored ones may have rotted
      // on disk, and the atomic replace is how a push repairs them.
      try {
        await this.store.driver.publish(path, blobPath(expected));
      } catch (error) {
        if (isStorageFullError(error)) throw await this.store.storageFull();
        throw error;
      }
      await this.remove();
      return { digest: expected, size: info.size };
    } finally {
      unlock();
    }
  }

  async cancel(): Promise<void> {
    await this.remove();
  }

  private async remove(): Promise<void> {
    this.store.forget(this.id);
    await this.store.driver.delete(`uploads/${this.id}/`);
  }
}

/** Counts the bytes going to storage, feeds the running hash, and refuses more bytes than announced. */
class Meter extends Transform {
  count = 0;
  hashed = 0;
  constructor(
    private readonly hash: Hash | undefined,
    private readonly limit: number | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.limit !== undefined && this.count + chunk.length > this.limit) {
      callback(
        new StorageError('length-mismatch', { reason: 'body longer than announced', expected: this.limit }),
      );
      return;
    }
    this.count += chunk.length;
    if (this.hash) {
      this.hash.update(chunk);
      this.hashed += chunk.length;
    }
    callback(null, chunk);
  }
}

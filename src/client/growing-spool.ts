import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';

// Bytes read from the spool file per read: large enough that a fast upload costs few calls.
const READ_SIZE = 1024 * 1024;

/**
 * A spool file while the compressor is still writing it: an upload reads what is there and waits for more.
 * The upload reads the file, not the compressor's output, so that a retried request can start again from
 * any offset already written; the bytes it reads were written a moment ago and come from the page cache.
 * The digest is known only when the compressor is done (`finish`).
 */
export class GrowingSpool {
  private written = 0;
  private handle: FileHandle | undefined;
  private end: { digest: Digest; size: number } | undefined;
  private error: Error | undefined;
  private waiters: (() => void)[] = [];
  /** Resolves with the compressed blob's digest and size, or rejects when compression failed. */
  readonly done: Promise<{ digest: Digest; size: number }>;
  private settle!: { resolve: (v: { digest: Digest; size: number }) => void; reject: (e: Error) => void };

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A consumer that gave up early must not leave the rejection unhandled.
    this.done.catch(() => {});
  }

  /** The file's read handle, opened by the writer right after creating it (a rename later does not matter). */
  attach(handle: FileHandle): void {
    this.handle = handle;
  }

  /** `total` bytes of the file are written. */
  grew(total: number): void {
    this.written = total;
    this.wake();
  }

  finish(result: { digest: Digest; size: number }): void {
    this.end = result;
    this.settle.resolve(result);
    this.wake();
  }

  fail(error: Error): void {
    this.error = error;
    this.settle.reject(error);
    this.wake();
  }

  /** Bytes written so far. */
  get size(): number {
    return this.written;
  }

  /**
   * The bytes from `start` on, at most `max` of them, as they get written: the stream ends at `start + max`
   * or at the end of the blob, and fails when compression fails.
   */
  read(start: number, max: number, signal?: AbortSignal): Readable {
    const self = this;
    const limit = start + max;
    const generator = async function* (): AsyncGenerator<Buffer> {
      let position = start;
      while (position < limit) {
        await self.beyond(position, signal);
        if (self.error) throw self.error;
        const available = Math.min(self.written, limit) - position;
        if (available <= 0) return; // finished, and nothing more to read
        const handle = self.handle;
        if (!handle) throw new Error('growing spool: bytes written before the file was attached');
        const buffer = Buffer.allocUnsafe(Math.min(available, READ_SIZE));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) throw new Error('growing spool: the file is shorter than what was written');
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    };
    return Readable.from(generator(), { objectMode: false });
  }

  /** Closes the read handle; the writer has its own. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
  }

  /** Why compression failed, once it has. */
  get failure(): Error | undefined {
    return this.error;
  }

  /** Resolves once more than `offset` bytes are written, or the blob is complete, or compression failed. */
  beyond(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.written > offset || this.end || this.error) return Promise.resolve();
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';

const CHUNK = 1024 * 1024;
// writeTo moves bigger pieces: fewer reads and socket writes per byte. Its buffers are pooled and reused across
// requests, so serving does not allocate (the pool keeps at most POOL_MAX of them; more are made and dropped).
const DIRECT_CHUNK = 4 * 1024 * 1024;
const DIRECT_BUFFERS = 3;
const POOL_MAX = 24;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(DIRECT_CHUNK);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buffer);
}

/**
 * An inclusive byte range of an open file. As a Readable it behaves like fs.createReadStream. `writeTo`
 * is the fast path for serving blobs: two buffers read into and written out in turn, each reused only once
 * the socket has taken its previous content. A fresh 1 MiB buffer per chunk (what a read stream does) makes
 * V8 run a full garbage collection every few dozen megabytes, which halves blob throughput; Node has no
 * sendfile, so this is written by hand. (The blob route finds `writeTo` by shape: http's `DirectBody`.)
 */
export class FileRangeStream extends Readable {
  private position: number;

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
  }

  override _read(size: number): void {
    const length = Math.min(Math.max(size, CHUNK), this.end - this.position + 1);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    this.handle.read(buffer, 0, length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(new Error('file ended before the expected range'));
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  async writeTo(out: Writable): Promise<void> {
    // A ring of buffers: while one is being read into, the others may still be queued on the socket, so the
    // socket never runs dry waiting for a read. A buffer is read into again only once its write completed.
    const buffers = Array.from({ length: DIRECT_BUFFERS }, takeBuffer);
    const writes: Promise<void>[] = buffers.map(() => Promise.resolve());
    let gone: Error | undefined;
    const onClose = (): void => {
      gone ??= new Error('client went away');
    };
    out.once('close', onClose);
    try {
      for (let turn = 0; this.position <= this.end; turn = (turn + 1) % buffers.length) {
        const buffer = buffers[turn] as Buffer;
        await writes[turn];
        if (gone) throw gone;
        const length = Math.min(DIRECT_CHUNK, this.end - this.position + 1);
        const { bytesRead } = await this.handle.read(buffer, 0, length, this.position);
        if (bytesRead === 0) throw new Error('file ended before the expected range');
        this.position += bytesRead;
        const write = new Promise<void>((resolve, reject) => {
          out.write(buffer.subarray(0, bytesRead), (error) => (error ? reject(error) : resolve()));
        });
        write.catch(() => {});
        writes[turn] = write;
      }
      await Promise.all(writes);
      // Every write has completed: the buffers are free for the next request. (After a failure they are
      // dropped instead, since the socket may still hold a write of them.)
      for (const buffer of buffers) giveBack(buffer);
      await new Promise<void>((resolve) => out.end(resolve));
    } finally {
      out.off('close', onClose);
      this.destroy();
    }
  }
}

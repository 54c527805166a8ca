import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import type { Digest } from '../oci/digest.js';
import type { BlockJob, BlockReply } from './gzip-block-worker.js';

/** Input bytes per block: large enough that the per-block flush costs little ratio, small enough to spread. */
export const GZIP_BLOCK_SIZE = 1024 * 1024;
/** Deflate's window: a block primed with this much of the input before it compresses as one stream would. */
const WINDOW = 32 * 1024;

export interface ParallelGzipOptions {
  /** zlib level, 1 (fastest) to 9. */
  level: number;
  blockSize?: number;
  /** Blocks in flight at once for this stream (default: the cores plus one, so no core waits for input). */
  inFlight?: number;
}

export interface ParallelGzipResult {
  /** sha256 and size of the gzip stream. */
  digest: Digest;
  size: number;
  /** sha256 and size of the uncompressed input (a layer's diff_id). */
  diffId: Digest;
  uncompressedSize: number;
}

/**
 * gzip (one member, readable by any gzip reader) compressed on every core: the input is cut into blocks, each
 * deflated raw in a worker thread with the previous block's last 32 KiB as its dictionary, every block but
 * the last ending on a byte boundary (a sync flush), so the blocks join into one deflate stream; the CRC-32
 * and size of the whole input go in the trailer. Both sha256 values are computed as the bytes pass.
 *
 * Use `compress` as a step of `stream.pipeline`; `result` is set once its output has ended.
 */
export class ParallelGzip {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly inFlight: number;
  private finished: ParallelGzipResult | undefined;

  constructor(options: ParallelGzipOptions) {
    this.level = options.level;
    this.blockSize = options.blockSize ?? GZIP_BLOCK_SIZE;
    // A dictionary is the previous block's tail: a block shorter than the window could not supply it.
    if (this.blockSize < WINDOW) throw new RangeError(`parallel gzip: blocks of at least ${WINDOW} bytes`);
    this.inFlight = Math.max(1, options.inFlight ?? availableParallelism() + 1);
  }

  get result(): ParallelGzipResult {
    if (!this.finished) throw new Error('parallel gzip: the result is read before the stream ended');
    return this.finished;
  }

  async *compress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    const pool = sharedPool();
    const inputHash = createHash('sha256');
    const outputHash = createHash('sha256');
    let crc = 0;
    let inputSize = 0;
    let outputSize = 0;
    const out = (bytes: Buffer): Buffer => {
      outputHash.update(bytes);
      outputSize += bytes.length;
      return bytes;
    };
    // In input order; each settles when its worker replies.
    const pending: { promise: Promise<Buffer>; settled: boolean }[] = [];
    // Blocks come back from the workers and are filled again: no fresh memory (and page faults) per block.
    // They are allocated outside Buffer's shared pool, so their memory can move to a worker.
    const spare: Buffer[] = [];
    const newBlock = (): Buffer => spare.pop() ?? Buffer.allocUnsafeSlow(this.blockSize);
    const dispatch = (job: BlockJob): void => {
      const promise = pool.deflate(job).then(({ output, input }) => {
        if (spare.length < this.inFlight) spare.push(Buffer.from(input));
        return output;
      });
      const entry = { promise, settled: false };
      // A rejection is seen when its turn comes; until then it must not count as unhandled.
      entry.promise.then(
        () => {
          entry.settled = true;
        },
        () => {
          entry.settled = true;
        },
      );
      pending.push(entry);
    };
    let block = newBlock();
    let filled = 0;
    let dictionary: Buffer | undefined;

    yield out(gzipHeader(this.level));
    for await (const chunk of source) {
      crc = crc32(chunk, crc);
      inputHash.update(chunk);
      inputSize += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        // A full block is sent only once more input shows it is not the last one.
        if (filled === this.blockSize) {
          const next = Buffer.from(block.subarray(this.blockSize - WINDOW));
          dispatch({ input: block, last: false, level: this.level, ...(dictionary ? { dictionary } : {}) });
          dictionary = next;
          block = newBlock();
          filled = 0;
        }
        const n = Math.min(this.blockSize - filled, chunk.length - offset);
        block.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
      }
      while (pending.length >= this.inFlight || pending[0]?.settled) {
        yield out(await (pending.shift() as (typeof pending)[number]).promise);
      }
    }
    dispatch({
      input: block.subarray(0, filled),
      last: true,
      level: this.level,
      ...(dictionary ? { dictionary } : {}),
    });
    for (let entry = pending.shift(); entry; entry = pending.shift()) yield out(await entry.promise);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(inputSize % 2 ** 32, 4);
    yield out(trailer);
    this.finished = {
      digest: `sha256:${outputHash.digest('hex')}` as Digest,
      size: outputSize,
      diffId: `sha256:${inputHash.digest('hex')}` as Digest,
      uncompressedSize: inputSize,
    };
  }
}

/** The 10-byte header zlib writes itself (no name, no time), so the output matches `createGzip`'s framing. */
function gzipHeader(level: number): Buffer {
  // XFL as zlib sets it: 2 for the best compression, 4 for the fastest.
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  // OS 3 (Unix), as zlib writes on every system Node supports but Windows; readers ignore it.
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

interface QueuedJob {
  job: BlockJob;
  resolve: (done: { output: Buffer; input: ArrayBuffer }) => void;
  reject: (error: Error) => void;
}

/**
 * Worker threads shared by every stream of the process, one per core: layers compressed at the same time
 * share the cores instead of each starting its own threads. Idle workers do not keep the process alive.
 */
class DeflatePool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, QueuedJob>();
  private readonly queue: QueuedJob[] = [];
  private started = 0;

  constructor(private readonly size: number) {}

  /** Deflates a block; its input's memory is moved to a worker and handed back with the output. */
  deflate(job: BlockJob): Promise<{ output: Buffer; input: ArrayBuffer }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.start() : undefined);
      if (!worker) return;
      const queued = this.queue.shift() as QueuedJob;
      this.busy.set(worker, queued);
      worker.ref();
      // The block's memory moves to the worker (no copy); the dictionary is small and copied.
      worker.postMessage(queued.job, [queued.job.input.buffer as ArrayBuffer]);
    }
  }

  private start(): Worker {
    this.started += 1;
    const worker = startWorker();
    worker.on('message', (reply: BlockReply) => {
      const queued = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (queued) {
        if ('output' in reply) {
          const { output, input } = reply;
          queued.resolve({
            output: Buffer.from(output.buffer, output.byteOffset, output.length),
            input: input.buffer as ArrayBuffer,
          });
        } else queued.reject(new Error(`gzip block: ${reply.error}`));
      }
      this.next();
    });
    const lost = (error: Error): void => {
      const queued = this.busy.get(worker);
      this.busy.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      this.started -= 1;
      queued?.reject(error);
      this.next();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      if (this.busy.has(worker) || this.idle.includes(worker))
        lost(new Error(`gzip worker stopped with exit code ${code}`));
    });
    worker.unref();
    return worker;
  }
}

/**
 * The worker beside this module: `gzip-block-worker.js` in the build. Running from source under tsx, the file
 * is `.ts`, and a worker thread does not inherit tsx's loader, so a two-line bootstrap registers it first.
 * The worker needs none of the process's flags (`--import tsx` would only load tsx in it again).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./gzip-block-worker.js', import.meta.url), { execArgv: [] });
  const file = new URL('./gzip-block-worker.ts', import.meta.url).href;
  // tsx is resolved from here, not from wherever the process was started.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(file)}));`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

let pool: DeflatePool | undefined;
function sharedPool(): DeflatePool {
  pool ??= new DeflatePool(availableParallelism());
  return pool;
}

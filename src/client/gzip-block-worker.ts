// Runs in a worker thread of parallel-gzip.ts: deflates one block of a layer, so every core compresses.
import { parentPort } from 'node:worker_threads';
import { constants, deflateRawSync } from 'node:zlib';

export interface BlockJob {
  input: Uint8Array;
  /** The 32 KiB of input before this block: back-references may reach into it, as in one long stream. */
  dictionary?: Uint8Array;
  /** The last block ends the deflate stream; every other ends on a byte boundary so blocks concatenate. */
  last: boolean;
  level: number;
}

/** `input` is the job's block handed back, so its memory is used again for a later block. */
export type BlockReply = { output: Uint8Array; input: Uint8Array } | { error: string; input: Uint8Array };

// An output whose memory is this large is zlib's own output buffer, never a slice of Buffer's shared pool
// (which must not move): it moves back to the main thread instead of being copied.
const MOVABLE = 64 * 1024;

parentPort?.on('message', (job: BlockJob) => {
  let reply: BlockReply;
  const moved: ArrayBuffer[] = [job.input.buffer as ArrayBuffer];
  try {
    const output = deflateRawSync(job.input, {
      level: job.level,
      finishFlush: job.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      // One output buffer per block, not a callback and a copy per 16 KiB.
      chunkSize: Math.max(64 * 1024, job.input.length + 1024),
      ...(job.dictionary ? { dictionary: job.dictionary } : {}),
    });
    reply = { output, input: job.input };
    if (output.buffer.byteLength >= MOVABLE) moved.push(output.buffer as ArrayBuffer);
  } catch (error) {
    reply = { error: (error as Error).message, input: job.input };
  }
  parentPort?.postMessage(reply, moved);
});

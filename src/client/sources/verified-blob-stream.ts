import { createHash, type Hash } from 'node:crypto';
import { addAbortSignal, pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { type Digest, digestAlgorithm, digestFromHash } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';

export interface VerifyOptions {
  /** What the blob is, for messages: `docker-archive:app.tar: layer 3f2a…/layer.tar`. */
  name: string;
  /** Bytes to read and hash but not emit (a resumed upload already has them). */
  offset?: number;
  /**
   * `false` skips the digest (the size is still checked): for a consumer that verifies the digest itself,
   * such as a registry checking an upload, so the bytes are not hashed twice on one machine.
   */
  verify?: boolean;
  signal?: AbortSignal;
}

/**
 * Hashes and counts a blob as it passes. The last chunk is held back until the whole blob has been checked,
 * so a consumer never receives every byte of a corrupt blob: a size or digest mismatch fails the stream with
 * BerthError `BLOB_CORRUPT` before it ends.
 */
class VerifyingTransform extends Transform {
  private readonly hash: Hash | undefined;
  private seen = 0;
  private held: Buffer | undefined;

  constructor(
    private readonly expected: { digest: Digest; size: number },
    private readonly name: string,
    private readonly offset: number,
    verify: boolean,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.hash = verify ? createHash(digestAlgorithm(expected.digest)) : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const start = this.seen;
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      callback(this.corrupt(`more than the expected ${this.expected.size} bytes`));
      return;
    }
    this.hash?.update(chunk);
    if (this.held) this.push(this.held);
    // Only bytes at or past the offset go out.
    this.held = this.seen <= this.offset ? undefined : chunk.subarray(Math.max(0, this.offset - start));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.expected.size) {
      callback(this.corrupt(`${this.seen} bytes instead of ${this.expected.size}`));
      return;
    }
    const actual = this.hash
      ? digestFromHash(this.hash, digestAlgorithm(this.expected.digest))
      : this.expected.digest;
    if (actual !== this.expected.digest) {
      callback(this.corrupt(`content with digest ${actual}`));
      return;
    }
    if (this.held) this.push(this.held);
    this.held = undefined;
    callback();
  }

  private corrupt(found: string): BerthError {
    return new BerthError(
      'BLOB_CORRUPT',
      `${this.name}: blob ${this.expected.digest} is corrupt: read ${found}`,
    );
  }
}

/**
 * Wraps the full byte stream of a blob (from its first byte, even when resuming at `offset`) in a stream
 * that yields the bytes from `offset` on and fails with `BLOB_CORRUPT` when the size or digest is wrong.
 * Destroying the result destroys `source`.
 */
export function verifyBlobStream(
  source: Readable,
  expected: { digest: Digest; size: number },
  options: VerifyOptions,
): Readable {
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > expected.size) {
    source.destroy();
    throw new BerthError(
      'BLOB_RANGE_INVALID',
      `${options.name}: offset ${offset} is outside blob ${expected.digest} of ${expected.size} bytes`,
    );
  }
  const verifier = new VerifyingTransform(expected, options.name, offset, options.verify ?? true);
  // pipeline forwards errors both ways: a failing source fails the verifier, a destroyed verifier the source.
  pipeline(source, verifier, () => {});
  if (options.signal) addAbortSignal(options.signal, verifier);
  return verifier;
}

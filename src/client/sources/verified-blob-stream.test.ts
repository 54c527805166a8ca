import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { expectBerthError, failureOf, readAll } from '../../../test/support/source-fixtures.js';
import { digestOf, parseDigest } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import { verifyBlobStream } from './verified-blob-stream.js';

/** A stream of `bytes` in chunks of `chunk` bytes. */
function chunked(bytes: Buffer, chunk = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
}

const blob = randomBytes(10_000);
const expected = { digest: digestOf(blob), size: blob.length };

describe('verified blob streams', () => {
  test('pass the bytes of a blob that matches its descriptor', async () => {
    const out = await readAll(verifyBlobStream(chunked(blob), expected, { name: 'test' }));
    assert.deepEqual(out, blob);
  });

  test('check sha512 digests too', async () => {
    const digest = digestOf(blob, 'sha512');
    const out = await readAll(
      verifyBlobStream(chunked(blob), { digest, size: blob.length }, { name: 'test' }),
    );
    assert.equal(out.length, blob.length);
  });

  test('an offset skips bytes yet still hashes them', async () => {
    for (const offset of [0, 1, 999, 1000, 1001, 9_999, 10_000]) {
      const out = await readAll(verifyBlobStream(chunked(blob), expected, { name: 'test', offset }));
      assert.deepEqual(out, blob.subarray(offset), `offset ${offset}`);
    }
    // A corrupt prefix is caught even though it is not emitted.
    const corrupt = Buffer.from(blob);
    corrupt[3] = (corrupt[3] ?? 0) ^ 1;
    const { error } = await failureOf(
      verifyBlobStream(chunked(corrupt), expected, { name: 'test', offset: 5000 }),
    );
    assert.equal((error as BerthError).code, 'BLOB_CORRUPT');
  });

  test('an offset beyond the blob is refused', async () => {
    await expectBerthError(
      () => verifyBlobStream(chunked(blob), expected, { name: 'test', offset: blob.length + 1 }),
      'BLOB_RANGE_INVALID',
    );
  });

  test('a digest mismatch fails before the last bytes go out, naming the source and the blob', async () => {
    const corrupt = Buffer.from(blob);
    corrupt[5000] = (corrupt[5000] ?? 0) ^ 0xff;
    const { error, received } = await failureOf(
      verifyBlobStream(chunked(corrupt), expected, { name: 'src: layer x' }),
    );
    assert.ok(error instanceof BerthError);
    assert.equal(error.code, 'BLOB_CORRUPT');
    assert.match(
      error.message,
      /^src: layer x: blob sha256:[0-9a-f]{64} is corrupt: read content with digest sha256:/,
    );
    assert.ok(received < blob.length, `the consumer got all ${received} bytes of a corrupt blob`);
  });

  test('too few or too many bytes fail with BLOB_CORRUPT', async () => {
    const short = await failureOf(
      verifyBlobStream(chunked(blob.subarray(0, 9_000)), expected, { name: 't' }),
    );
    assert.equal((short.error as BerthError).code, 'BLOB_CORRUPT');
    assert.match((short.error as Error).message, /9000 bytes instead of 10000/);
    const long = await failureOf(
      verifyBlobStream(chunked(Buffer.concat([blob, Buffer.from('x')])), expected, { name: 't' }),
    );
    assert.equal((long.error as BerthError).code, 'BLOB_CORRUPT');
    assert.ok(long.received < blob.length);
  });

  test('an empty blob verifies', async () => {
    const empty = { digest: parseDigest(digestOf(Buffer.alloc(0))), size: 0 };
    assert.equal((await readAll(verifyBlobStream(Readable.from([]), empty, { name: 't' }))).length, 0);
  });

  test('a failing source fails the stream; destroying the stream destroys the source', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const { error } = await failureOf(verifyBlobStream(failing, expected, { name: 't' }));
    assert.match(String(error), /disk on fire/);

    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(100));
      },
    });
    const verified = verifyBlobStream(endless, { ...expected, size: 1e9 }, { name: 't' });
    verified.destroy();
    await new Promise((resolve) => endless.once('close', resolve));
    assert.ok(endless.destroyed);
  });

  test('an abort signal stops the stream', async () => {
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        setTimeout(() => this.push(Buffer.alloc(100)), 1);
      },
    });
    const verified = verifyBlobStream(
      endless,
      { ...expected, size: 1e9 },
      { name: 't', signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 20);
    const { error } = await failureOf(verified);
    assert.equal((error as Error).name, 'AbortError');
  });
});

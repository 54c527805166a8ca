import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GZIP_BLOCK_SIZE, ParallelGzip, type ParallelGzipResult } from './parallel-gzip.js';

const MiB = 1024 * 1024;

/** Text like a layer's: words of a fixed vocabulary in lines, from a seeded generator (the same every run). */
function text(size: number, seed = 1): Buffer {
  let state = seed;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const words = Array.from(
    { length: 2000 },
    (_, i) => `${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${i.toString(36)}x${(i * 7919).toString(36)}`,
  );
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const line = `${Array.from({ length: 3 + random(12) }, () => words[random(words.length)]).join(' ')}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Compresses `data` fed in chunks of `chunk` bytes, through stream.pipeline as the importer does. */
async function compress(
  data: Buffer,
  options: { level?: number; blockSize?: number; chunk?: number } = {},
): Promise<{ gz: Buffer; result: ParallelGzipResult }> {
  const gzip = new ParallelGzip({
    level: options.level ?? 1,
    ...(options.blockSize ? { blockSize: options.blockSize } : {}),
  });
  const chunk = options.chunk ?? 64 * 1024;
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) chunks.push(data.subarray(at, at + chunk));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    (source: AsyncIterable<Buffer>) => gzip.compress(source),
    new Writable({
      write(bytes: Buffer, _encoding, callback) {
        out.push(bytes);
        callback();
      },
    }),
  );
  return { gz: Buffer.concat(out), result: gzip.result };
}

/** What Debian's gzip and Python's gzip module make of a gzip stream. */
function readByOthers(gz: Buffer): { gzipTest: number | null; gzipOut: Buffer; python: string } {
  const gzipTest = spawnSync('gzip', ['-t'], { input: gz }).status;
  const gzipOut = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 256 * MiB }).stdout;
  const script =
    'import sys, gzip, hashlib, zlib\n' +
    'data = gzip.decompress(sys.stdin.buffer.read())\n' +
    'print("sha256:" + hashlib.sha256(data).hexdigest(), zlib.crc32(data), len(data))';
  const python = spawnSync('python3', ['-c', script], { input: gz, encoding: 'utf8' });
  assert.equal(python.status, 0, python.stderr);
  return { gzipTest, gzipOut, python: python.stdout.trim() };
}

const SIZES: [string, number][] = [
  ['empty', 0],
  ['one byte', 1],
  ['exactly one block', GZIP_BLOCK_SIZE],
  ['one block and one byte', GZIP_BLOCK_SIZE + 1],
  ['exactly three blocks', 3 * GZIP_BLOCK_SIZE],
  ['many blocks, not a multiple', 7 * GZIP_BLOCK_SIZE + 12345],
];

for (const [kind, make] of [
  ['text', (n: number) => text(n)],
  ['random', (n: number) => randomBytes(n)],
] as const) {
  for (const [label, size] of SIZES) {
    test(`${kind}, ${label}: one gzip member that gunzip, gzip and Python read back byte for byte`, async () => {
      const data = make(size);
      const { gz, result } = await compress(data);

      assert.deepEqual(gunzipSync(gz), data, "Node's gunzip");
      const others = readByOthers(gz);
      assert.equal(others.gzipTest, 0, 'gzip -t');
      assert.ok(others.gzipOut.equals(data), 'gzip -dc');
      // Python's zlib computes the CRC on its own: the trailer must hold the same one, and the size.
      const [pythonDigest, pythonCrc, pythonSize] = others.python.split(' ');
      assert.equal(pythonDigest, sha256(data), 'Python gzip');
      assert.equal(gz.readUInt32LE(gz.length - 8), Number(pythonCrc), 'CRC-32 in the trailer');
      assert.equal(gz.readUInt32LE(gz.length - 4), Number(pythonSize) % 2 ** 32, 'size in the trailer');

      // One member: the header once, at the start (a second member would be a second header).
      assert.deepEqual([...gz.subarray(0, 4)], [0x1f, 0x8b, 8, 0]);
      assert.equal(result.diffId, sha256(data));
      assert.equal(result.uncompressedSize, data.length);
      assert.equal(result.digest, sha256(gz));
      assert.equal(result.size, gz.length);
    });
  }
}

test('blocks are cut the same wherever the chunks of the input end', async () => {
  const data = text(3 * MiB + 777);
  const small = await compress(data, { chunk: 1000 });
  const large = await compress(data, { chunk: 5 * MiB });
  assert.ok(small.gz.equals(large.gz));
  assert.deepEqual(gunzipSync(small.gz), data);
});

test('on text, the ratio is within 5% of one zlib stream at the same level', async () => {
  const data = text(16 * MiB, 7);
  for (const level of [1, 6]) {
    const { gz } = await compress(data, { level });
    const single = gzipSync(data, { level }).length;
    assert.ok(
      gz.length <= single * 1.05,
      `level ${level}: ${gz.length} bytes against ${single} in one stream (${((gz.length / single - 1) * 100).toFixed(1)}%)`,
    );
    assert.deepEqual(gunzipSync(gz), data);
  }
});

test('the dictionary is what keeps the ratio: small blocks still compress repeated text across blocks', async () => {
  // One 20 KiB passage (inside deflate's 32 KiB window) repeated: each block starts with what ended the last.
  const passage = text(20 * 1024, 3);
  const data = Buffer.concat(Array.from({ length: 64 }, () => passage));
  const { gz } = await compress(data, { blockSize: 64 * 1024 });
  // Without the previous block's tail each of the 20 blocks would cost at least one passage compressed (about
  // 20 passages in all); with it, a block costs little more than its own Huffman tables.
  const passageAlone = gzipSync(passage, { level: 1 }).length;
  assert.ok(gz.length < passageAlone * 10, `${gz.length} bytes; one passage alone is ${passageAlone}`);
  assert.deepEqual(gunzipSync(gz), data);
});

test('a damaged trailer is caught by the readers the tests rely on', async () => {
  // Proves the checks above can fail: the same stream with one CRC bit flipped is refused.
  const data = text(2 * MiB + 5);
  const { gz } = await compress(data);
  const damaged = Buffer.from(gz);
  damaged[damaged.length - 8] = (damaged[damaged.length - 8] as number) ^ 1;
  assert.notEqual(spawnSync('gzip', ['-t'], { input: damaged }).status, 0);
  assert.throws(() => gunzipSync(damaged));
});

test('an error of the input fails the stream', async () => {
  const gzip = new ParallelGzip({ level: 1 });
  async function* failing(): AsyncGenerator<Buffer> {
    yield text(3 * MiB);
    throw new Error('read failed');
  }
  await assert.rejects(
    pipeline(
      failing,
      (source: AsyncIterable<Buffer>) => gzip.compress(source),
      new Writable({ write: (_b, _e, cb) => cb() }),
    ),
    /read failed/,
  );
  assert.throws(() => gzip.result, /before the stream ended/);
});

test('streams compressed at the same time share the workers and each comes out whole', async () => {
  const inputs = [text(5 * MiB, 11), randomBytes(4 * MiB + 3), text(6 * MiB + 1, 12)];
  const outputs = await Promise.all(inputs.map((data) => compress(data)));
  outputs.forEach(({ gz, result }, i) => {
    assert.deepEqual(gunzipSync(gz), inputs[i]);
    assert.equal(result.diffId, sha256(inputs[i] as Buffer));
  });
});

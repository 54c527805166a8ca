// npm run bench -- s3: the blob store on S3 (a Ceph radosgw, BERTH_TEST_S3_ENDPOINT + AWS_* credentials, e.g. from
// `scripts/throwaway-ceph.sh up DIR`) against the same store on the filesystem, in one process, alternating
// rounds: a 64 MiB blob pushed in one request, the same in 1 MiB chunks (PATCH-sized requests: on S3 these are
// gathered in the bucket and composed into parts), and a whole read. Prints medians and the S3/filesystem ratio.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Digest } from '../src/oci/digest.js';
import { type BlobStore, DriverBlobStore } from '../src/storage/blob-store.js';
import { FsDriver } from '../src/storage/fs-driver.js';
import { S3Driver } from '../src/storage/s3-driver.js';

const endpoint = process.env.BERTH_TEST_S3_ENDPOINT;
if (!endpoint) {
  process.stderr.write(
    's3: set BERTH_TEST_S3_ENDPOINT and AWS_* (scripts/throwaway-ceph.sh up DIR writes DIR/env)\n',
  );
  process.exit(2);
}
const SIZE = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_S3_ROUNDS ?? 3);

const root = await mkdtemp(join(tmpdir(), 'berth-bench-s3-'));
const s3 = new S3Driver({
  endpoint,
  bucket: `berth-bench-${randomBytes(4).toString('hex')}`,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
});
await s3.ensureBucket();
const stores: Record<string, BlobStore> = {
  filesystem: new DriverBlobStore(new FsDriver(root)),
  s3: new DriverBlobStore(s3),
};

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const cases: Record<string, (store: BlobStore, bytes: Buffer, digest: Digest) => Promise<unknown>> = {
  'push, one request': async (store, bytes, digest) => {
    const upload = await store.createUpload();
    await upload.append(Readable.from([bytes]));
    await upload.commit(digest);
  },
  'push, 1 MiB chunks': async (store, bytes, digest) => {
    const upload = await store.createUpload();
    for (let offset = 0; offset < bytes.length; offset += CHUNK)
      await upload.append(Readable.from([bytes.subarray(offset, offset + CHUNK)]), { offset });
    await upload.commit(digest);
  },
  'pull, whole blob': async (store, _bytes, digest) => {
    for await (const _chunk of await store.read(digest));
  },
};

const times: Record<string, Record<string, number[]>> = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    const bytes = randomBytes(SIZE);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    // Alternating which store goes first, so neither always meets a warm or a cold machine.
    const order = round % 2 === 0 ? ['filesystem', 's3'] : ['s3', 'filesystem'];
    for (const [name, run] of Object.entries(cases))
      for (const storeName of order) {
        const store = stores[storeName] as BlobStore;
        const took = await seconds(() => run(store, bytes, digest));
        const byStore = times[name] ?? {};
        times[name] = byStore;
        byStore[storeName] = [...(byStore[storeName] ?? []), took];
      }
  }
} finally {
  await s3.delete('');
  s3.destroy();
  await rm(root, { recursive: true, force: true });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const mibps = (s: number): string => `${(SIZE / 1024 / 1024 / s).toFixed(0)} MiB/s`;
process.stdout.write(`blob store, 64 MiB blobs, ${ROUNDS} rounds (medians)\n`);
process.stdout.write('case                  filesystem      s3 (radosgw)    s3/filesystem time\n');
for (const [name, byStore] of Object.entries(times)) {
  const fs = median(byStore.filesystem ?? []);
  const s = median(byStore.s3 ?? []);
  process.stdout.write(
    `${name.padEnd(22)}${mibps(fs).padEnd(16)}${mibps(s).padEnd(16)}${(s / fs).toFixed(1)}x\n`,
  );
}

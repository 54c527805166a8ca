import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { requireCondition } from '../../test/support/tool-gate.js';
import type { Digest } from '../oci/digest.js';
import { DriverBlobStore } from './blob-store.js';
import { blobStoreSuite } from './blob-store.test-suite.js';
import { S3_MIN_PART, S3Driver } from './s3-driver.js';

// CI and `npm run test:full` set BERTH_TEST_S3_ENDPOINT (scripts/throwaway-ceph.sh, a one-node Ceph radosgw)
// and the AWS_* credentials; then an object store that is down fails the run.
const endpoint = process.env.BERTH_TEST_S3_ENDPOINT;
const gate = requireCondition(
  endpoint
    ? undefined
    : 'BERTH_TEST_S3_ENDPOINT is not set (scripts/throwaway-ceph.sh up DIR starts a Ceph radosgw)',
);

const bucket = `berth-test-${randomBytes(4).toString('hex')}`;
const drivers: S3Driver[] = [];

function driverAt(prefix: string, redirectExpirySeconds = 0): S3Driver {
  const driver = new S3Driver({
    endpoint,
    bucket,
    region: process.env.AWS_REGION ?? 'us-east-1',
    prefix,
    forcePathStyle: true,
    redirectExpirySeconds,
  });
  drivers.push(driver);
  return driver;
}

function digest(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

if (!endpoint) {
  describe('blob store on S3', { skip: gate.skip }, () => {
    test('needs BERTH_TEST_S3_ENDPOINT', () => gate.assertAvailable());
  });
} else {
  after(async () => {
    const cleaner = driverAt('');
    await cleaner.delete('');
    for (const driver of drivers) driver.destroy();
  });

  // Every test gets a prefix of its own in one bucket; the same prefix again is the same data (a restart).
  blobStoreSuite('S3 (radosgw)', async () => {
    const prefix = `suite-${randomUUID()}`;
    const first = driverAt(prefix);
    await first.ensureBucket();
    return { driver: () => driverAt(prefix) };
  });

  describe('S3 driver specifics', () => {
    test('small chunks are gathered into parts in the bucket; the upload continues on another store', async () => {
      const prefix = `chunks-${randomUUID()}`;
      await driverAt(prefix).ensureBucket();
      const bytes = randomBytes(2 * S3_MIN_PART + 1234);
      const first = new DriverBlobStore(driverAt(prefix));
      const upload = await first.createUpload();
      // Chunks of 1 MiB and a bit: none is a part alone, every five or six fill one.
      const chunk = 1024 * 1024 + 7;
      let offset = 0;
      for (; offset < S3_MIN_PART + 3 * chunk; offset += chunk) {
        await upload.append(Readable.from([bytes.subarray(offset, offset + chunk)]), { offset });
      }
      // Another node: no running hash, so the commit rehashes from the bucket.
      const second = new DriverBlobStore(driverAt(prefix));
      const resumed = await second.resumeUpload(upload.id);
      assert.equal(resumed.size, offset);
      await resumed.append(Readable.from([bytes.subarray(offset)]), { offset });
      const info = await resumed.commit(digest(bytes));
      assert.equal(info.size, bytes.length);
      assert.deepEqual(await readAll(await first.read(digest(bytes))), bytes);
      assert.deepEqual(
        await readAll(await first.read(digest(bytes), { start: S3_MIN_PART - 5, end: S3_MIN_PART + 5 })),
        bytes.subarray(S3_MIN_PART - 5, S3_MIN_PART + 6),
      );
      const left = [];
      for await (const u of first.listUploads()) left.push(u);
      assert.deepEqual(left, []);
    });

    test('cancelling an upload aborts its multipart upload', async () => {
      const prefix = `abort-${randomUUID()}`;
      const driver = driverAt(prefix);
      await driver.ensureBucket();
      const store = new DriverBlobStore(driver);
      const upload = await store.createUpload();
      await upload.append(Readable.from([randomBytes(S3_MIN_PART + 10)]), { offset: 0 });
      // The next append composes the first request's bytes into a part, which starts the multipart upload.
      await upload.append(Readable.from([randomBytes(10)]), { offset: S3_MIN_PART + 10 });
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
      const pending = async (): Promise<number> =>
        (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }))).Uploads
          ?.length ?? 0;
      assert.equal(await pending(), 1);
      await upload.cancel();
      assert.equal(await pending(), 0);
      client.destroy();
    });

    test('a presigned URL serves the blob when redirects are on', async () => {
      const prefix = `redirect-${randomUUID()}`;
      const driver = driverAt(prefix, 60);
      await driver.ensureBucket();
      const store = new DriverBlobStore(driver);
      const bytes = randomBytes(1000);
      const upload = await store.createUpload();
      await upload.append(Readable.from([bytes]));
      await upload.commit(digest(bytes));
      const url = await store.redirectUrl(digest(bytes));
      assert.ok(url);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
      assert.equal(await new DriverBlobStore(driverAt(prefix)).redirectUrl(digest(bytes)), undefined);
    });
  });
}

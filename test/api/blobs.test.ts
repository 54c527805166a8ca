import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { blobOf, randomBlob } from '../support/images.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let client: TestClient;

const scope = fileScope();

before(async () => {
  const dir = await tempDir(scope);
  server = await startTestServer({ data: dir });
  client = new TestClient(server.url);
});
after(() => server.close());

describe('base', () => {
  test('GET /v2/ answers 200 with the API version header', async () => {
    const res = await client.request('GET', '/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });
});

describe('blob pull', () => {
  const blob = randomBlob(100_000);
  before(async () => {
    assert.equal((await client.pushBlob('pull/app', blob)).status, 201);
  });

  test('GET and HEAD carry digest, length and type', async () => {
    const head = await client.request('HEAD', `/v2/pull/app/blobs/${blob.digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '100000');
    assert.equal(head.headers.get('docker-content-digest'), blob.digest);
    assert.equal(head.headers.get('content-type'), 'application/octet-stream');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const get = await client.request('GET', `/v2/pull/app/blobs/${blob.digest}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('docker-content-digest'), blob.digest);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob.bytes);
  });

  test('Range requests: 206 with Content-Range, suffix, clamped end, 416 outside', async () => {
    const get = (range: string) =>
      client.request('GET', `/v2/pull/app/blobs/${blob.digest}`, { headers: { Range: range } });
    let res = await get('bytes=10-19');
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 10-19/100000');
    assert.equal(res.headers.get('content-length'), '10');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), blob.bytes.subarray(10, 20));
    res = await get('bytes=-500');
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), blob.bytes.subarray(99_500));
    res = await get('bytes=99000-200000');
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 99000-99999/100000');
    assert.equal((await res.arrayBuffer()).byteLength, 1000);
    res = await get('bytes=99990-');
    assert.equal(res.status, 206);
    assert.equal((await res.arrayBuffer()).byteLength, 10);
    for (const bad of ['bytes=100000-100010', 'bytes=500-0']) {
      res = await get(bad);
      assert.equal(res.status, 416, bad);
      assert.equal(res.headers.get('content-range'), 'bytes */100000');
      await res.arrayBuffer();
    }
  });

  test('a blob is only readable through repositories it was pushed or mounted to', async () => {
    const res = await client.request('GET', `/v2/other/app/blobs/${blob.digest}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
  });

  test('unknown blob, bad digest', async () => {
    let res = await client.request('GET', `/v2/pull/app/blobs/${blobOf('nope').digest}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
    res = await client.request('GET', `/v2/pull/app/blobs/md5:${'a'.repeat(32)}`);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
  });
});

describe('blob push', () => {
  test('monolithic POST ?digest= in one request', async () => {
    const blob = randomBlob(5000);
    const res = await client.request('POST', `/v2/mono/app/blobs/uploads/?digest=${blob.digest}`, {
      body: blob.bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mono/app/blobs/${blob.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    assert.equal((await client.request('HEAD', `/v2/mono/app/blobs/${blob.digest}`)).status, 200);
  });

  test('monolithic POST with a wrong digest keeps nothing', async () => {
    const blob = randomBlob(5000);
    const wrong = blobOf('x');
    const res = await client.request('POST', `/v2/mono/app/blobs/uploads/?digest=${wrong.digest}`, {
      body: blob.bytes,
    });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    for (const d of [wrong.digest, blob.digest]) {
      assert.equal((await client.request('HEAD', `/v2/mono/app/blobs/${d}`)).status, 404);
    }
  });

  test('POST then PUT', async () => {
    const blob = randomBlob(3000);
    const location = await client.startUpload('pp/app');
    assert.match(location, /^\/v2\/pp\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const res = await client.request('PUT', `${location}?digest=${blob.digest}`, { body: blob.bytes });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/pp/app/blobs/${blob.digest}`);
  });

  test('chunked: in-order PATCHes with Content-Range, status, 416 for out-of-order and repeated chunks', async () => {
    const blob = randomBlob(30_000);
    const location = await client.startUpload('chunk/app');
    const patch = (start: number, end: number) =>
      client.request('PATCH', location, {
        body: blob.bytes.subarray(start, end + 1),
        headers: { 'Content-Range': `${start}-${end}`, 'Content-Type': 'application/octet-stream' },
      });
    let res = await patch(0, 9999);
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-9999');
    assert.equal(res.headers.get('location'), location);
    res = await patch(0, 9999);
    assert.equal(res.status, 416, 'a repeated chunk');
    assert.equal(res.headers.get('range'), '0-9999');
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_INVALID');
    res = await patch(20_000, 29_999);
    assert.equal(res.status, 416, 'a chunk out of order');
    assert.equal(res.headers.get('range'), '0-9999');
    await res.arrayBuffer();
    res = await client.request('GET', location);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('range'), '0-9999');
    assert.equal(res.headers.get('location'), location);
    res = await patch(10_000, 19_999);
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-19999');
    // The last chunk travels in the closing PUT.
    res = await client.request('PUT', `${location}?digest=${blob.digest}`, {
      body: blob.bytes.subarray(20_000),
      headers: { 'Content-Range': '20000-29999' },
    });
    assert.equal(res.status, 201, await res.text());
    assert.deepEqual(await client.blobBytes('chunk/app', blob.digest), blob.bytes);
  });

  test('streamed PATCH without Content-Range, then an empty PUT', async () => {
    const blob = randomBlob(200_000);
    const location = await client.startUpload('stream/app');
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < blob.bytes.length; i += 32_768)
          controller.enqueue(blob.bytes.subarray(i, i + 32_768));
        controller.close();
      },
    });
    let res = await client.request('PATCH', location, { body });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-199999');
    res = await client.request('PUT', `${location}?digest=${blob.digest}`);
    assert.equal(res.status, 201);
  });

  test('sha512 blobs', async () => {
    const bytes = randomBytes(4000);
    const digest = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    const res = await client.request('POST', `/v2/sha/app/blobs/uploads/?digest=${digest}`, { body: bytes });
    assert.equal(res.status, 201);
    const get = await client.request('GET', `/v2/sha/app/blobs/${digest}`);
    assert.equal(get.headers.get('docker-content-digest'), digest);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), bytes);
  });

  test('a closing PUT with a wrong digest: DIGEST_INVALID and the upload is gone', async () => {
    const blob = randomBlob(2000);
    const location = await client.startUpload('bad/app');
    await client.request('PATCH', location, { body: blob.bytes });
    const res = await client.request('PUT', `${location}?digest=${blobOf('other').digest}`);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    const status = await client.request('GET', location);
    assert.equal(status.status, 404);
    assert.equal(await errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await client.request('HEAD', `/v2/bad/app/blobs/${blob.digest}`)).status, 404);
  });

  test('PUT without ?digest, unknown upload, upload of another repository', async () => {
    const location = await client.startUpload('own/app');
    let res = await client.request('PUT', location);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    const id = location.split('/').pop() as string;
    res = await client.request('GET', `/v2/someone/else/blobs/uploads/${id}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
    res = await client.request('PATCH', '/v2/own/app/blobs/uploads/00000000-0000-4000-8000-000000000000', {
      body: Buffer.from('x'),
    });
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('DELETE cancels an upload', async () => {
    const location = await client.startUpload('cancel/app');
    await client.request('PATCH', location, { body: Buffer.from('partial') });
    let res = await client.request('DELETE', location);
    assert.equal(res.status, 204);
    res = await client.request('GET', location);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('the same blob pushed by several clients at once: all succeed', async () => {
    const blob = randomBlob(1_000_000);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => client.pushBlob(i % 2 ? 'race/a' : 'race/b', blob)),
    );
    for (const r of results) assert.equal(r.status, 201);
    for (const repo of ['race/a', 'race/b']) {
      assert.deepEqual(await client.blobBytes(repo, blob.digest), blob.bytes);
    }
  });
});

describe('cross-repository mount', () => {
  test('mounts a blob linked in the source, falls back to an upload session otherwise', async () => {
    const blob = randomBlob(4000);
    assert.equal((await client.pushBlob('mount/src', blob)).status, 201);
    assert.equal((await client.request('HEAD', `/v2/mount/dst/blobs/${blob.digest}`)).status, 404);
    let res = await client.request(
      'POST',
      `/v2/mount/dst/blobs/uploads/?mount=${blob.digest}&from=mount/src`,
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mount/dst/blobs/${blob.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    assert.equal((await client.request('HEAD', `/v2/mount/dst/blobs/${blob.digest}`)).status, 200);

    const other = randomBlob(10);
    res = await client.request('POST', `/v2/mount/dst2/blobs/uploads/?mount=${other.digest}&from=mount/src`);
    assert.equal(res.status, 202, 'not in the source: an upload session instead');
    const location = res.headers.get('location') as string;
    assert.match(location, /\/v2\/mount\/dst2\/blobs\/uploads\//);
    res = await client.request('PUT', `${location}?digest=${other.digest}`, { body: other.bytes });
    assert.equal(res.status, 201);
    res = await client.request('POST', `/v2/mount/dst3/blobs/uploads/?mount=${blob.digest}&from=Not..Valid`);
    assert.equal(res.status, 202);
    res = await client.request('POST', `/v2/mount/dst3/blobs/uploads/?mount=${blob.digest}`);
    assert.equal(res.status, 201, 'no source named: found where it is linked (mount discovery)');
  });
});

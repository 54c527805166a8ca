import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { randomBlob } from '../support/images.js';
import { LogRecords } from '../support/log-records.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let client: TestClient;
let data: string;
const logs = new LogRecords();

/** Upload sessions present in storage. */
async function storedUploads(): Promise<string[]> {
  return readdir(join(data, 'storage', 'uploads')).catch(() => []);
}

const scope = fileScope();

before(async () => {
  data = await tempDir(scope);
  server = await startTestServer({ data, log: logs.log });
  client = new TestClient(server.url);
});
after(() => server.close());

async function uploadRange(location: string): Promise<string | null> {
  const res = await client.request('GET', location);
  assert.equal(res.status, 204);
  return res.headers.get('range');
}

/** Waits for the server to get somewhere (a cut request is handled after the client has moved on). */
async function eventually<T>(read: () => Promise<T>, expected: T, what: string): Promise<void> {
  // Bounded: 10 s of polling, far past a loaded machine's delay; the assertion then shows the last value.
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (JSON.stringify(value) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(await read(), expected, what);
}

async function waitForRange(location: string, expected: string): Promise<void> {
  await eventually(() => uploadRange(location), expected, 'upload range');
}

describe('bad input leaves nothing half-written', () => {
  test('a chunk whose Content-Range and Content-Length disagree is refused before any byte is kept', async () => {
    const location = await client.startUpload('fault/app');
    const res = await rawRequest(
      server.hostPort,
      `PATCH ${location} HTTP/1.1\nHost: x\nContent-Range: 0-99\nContent-Length: 50\nConnection: close\n\n`,
      Buffer.alloc(50, 1),
    );
    assert.equal(res?.status, 416);
    assert.equal(JSON.parse(res?.body ?? '{}').errors[0].code, 'BLOB_UPLOAD_INVALID');
    assert.equal(await uploadRange(location), '0-0');
  });

  test('a malformed Content-Range is refused', async () => {
    const location = await client.startUpload('fault/app');
    const res = await client.request('PATCH', location, {
      body: Buffer.alloc(10),
      headers: { 'Content-Range': 'ten-twenty' },
    });
    assert.equal(res.status, 416);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_INVALID');
  });

  test('a chunk larger than its Content-Range announced is taken back whole', async () => {
    const blob = randomBlob(300);
    const location = await client.startUpload('fault/app');
    let res = await client.request('PATCH', location, {
      body: blob.bytes.subarray(0, 100),
      headers: { 'Content-Range': '0-99' },
    });
    assert.equal(res.status, 202);
    // Chunked transfer encoding, so only the Content-Range speaks of the size: it says 100, 200 come.
    const body = blob.bytes.subarray(100, 300);
    const raw = await rawRequest(
      server.hostPort,
      `PATCH ${location} HTTP/1.1\nHost: x\nContent-Range: 100-199\nTransfer-Encoding: chunked\nConnection: close\n\n`,
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
    );
    assert.equal(raw?.status, 400);
    assert.equal(JSON.parse(raw?.body ?? '{}').errors[0].code, 'SIZE_INVALID');
    assert.equal(await uploadRange(location), '0-99');
    res = await client.request('PUT', `${location}?digest=${blob.digest}`, {
      body: blob.bytes.subarray(100),
      headers: { 'Content-Range': '100-299' },
    });
    assert.equal(res.status, 201, 'the upload goes on from where it was');
  });

  test('a truncated upload keeps what arrived and can be resumed from there', async () => {
    const blob = randomBlob(200_000);
    const location = await client.startUpload('fault/app');
    await rawRequest(
      server.hostPort,
      `PATCH ${location} HTTP/1.1\nHost: x\nContent-Type: application/octet-stream\nContent-Length: 200000\n\n`,
      blob.bytes.subarray(0, 120_000),
      true,
    );
    await waitForRange(location, '0-119999');
    const res = await client.request('PUT', `${location}?digest=${blob.digest}`, {
      body: blob.bytes.subarray(120_000),
      headers: { 'Content-Range': '120000-199999' },
    });
    assert.equal(res.status, 201, await res.text());
    assert.deepEqual(await client.blobBytes('fault/app', blob.digest), blob.bytes);
  });

  test('a truncated monolithic upload leaves no blob and no session', async () => {
    const blob = randomBlob(100_000);
    const before = await storedUploads();
    await rawRequest(
      server.hostPort,
      `POST /v2/fault/mono/blobs/uploads/?digest=${blob.digest} HTTP/1.1\nHost: x\nContent-Length: 100000\n\n`,
      blob.bytes.subarray(0, 40_000),
      true,
    );
    await eventually(storedUploads, before, 'no upload session left behind');
    assert.equal((await client.request('HEAD', `/v2/fault/mono/blobs/${blob.digest}`)).status, 404);
  });

  test('a manifest body cut short is refused and stores nothing', async () => {
    const res = await rawRequest(
      server.hostPort,
      'PUT /v2/fault/manifest/manifests/v1 HTTP/1.1\nHost: x\nContent-Type: application/vnd.oci.image.manifest.v1+json\nContent-Length: 500\n\n',
      Buffer.from('{"schemaVersion":2,'),
      true,
    );
    assert.equal(res, undefined);
    // The server has seen the cut and given the request up: nothing can be stored after this.
    await logs.waitFor(
      (r) => r.msg === 'client disconnected during request' && r.url === '/v2/fault/manifest/manifests/v1',
      'the cut manifest PUT handled',
    );
    const get = await client.request('GET', '/v2/fault/manifest/manifests/v1');
    assert.equal(get.status, 404);
    await get.arrayBuffer();
  });

  test('garbage instead of a blob fails the digest and keeps nothing', async () => {
    const blob = randomBlob(1000);
    const res = await client.request('POST', `/v2/fault/garbage/blobs/uploads/?digest=${blob.digest}`, {
      body: Buffer.from('garbage garbage garbage'),
    });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    assert.equal((await client.request('HEAD', `/v2/fault/garbage/blobs/${blob.digest}`)).status, 404);
  });
});

// `registry.readOnly: true` (a mirror, or a registry being moved): pulls work as before; every method that
// writes (uploads, mounts, manifest and tag pushes, deletes) is not registered and answers UNSUPPORTED (405),
// leaving the stored images as they were.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { makeImage, randomBlob } from '../support/images.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const REPO = 'team/app';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
let server: RunningServer;
let client: TestClient;
const image = makeImage();

before(async () => {
  const data = await tempDir(fileScope());
  const writable = await startTestServer({ data });
  await new TestClient(writable.url).pushImage(REPO, 'v1', image);
  await writable.close();
  server = await startTestServer({ data, config: { 'registry.readOnly': true } });
  client = new TestClient(server.url);
});

after(() => server?.close());

test('pulls, tag lists and the catalog answer as on a writable registry', async () => {
  const manifest = await client.request('GET', `/v2/${REPO}/manifests/v1`, { headers: { accept: MANIFEST } });
  assert.equal(manifest.status, 200);
  assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), image.manifest.bytes);
  for (const blob of [image.config, ...image.layers]) {
    assert.deepEqual(await client.blobBytes(REPO, blob.digest), blob.bytes);
  }
  const tags = await client.request('GET', `/v2/${REPO}/tags/list`);
  assert.deepEqual(await tags.json(), { name: REPO, tags: ['v1'] });
  const catalog = await client.request('GET', '/v2/_catalog');
  assert.deepEqual(await catalog.json(), { repositories: [REPO] });
});

test('every write and delete is UNSUPPORTED, and nothing changes', async () => {
  const blob = randomBlob(64);
  const attempts: [string, string, RequestInit?][] = [
    ['POST', `/v2/${REPO}/blobs/uploads/`],
    ['POST', `/v2/${REPO}/blobs/uploads/?digest=${blob.digest}`, { body: blob.bytes }],
    ['POST', `/v2/other/blobs/uploads/?mount=${image.layers[0]?.digest}&from=${REPO}`],
    ['PATCH', `/v2/${REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000`, { body: blob.bytes }],
    ['PUT', `/v2/${REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000?digest=${blob.digest}`],
    [
      'PUT',
      `/v2/${REPO}/manifests/v2`,
      { body: image.manifest.bytes, headers: { 'content-type': MANIFEST } },
    ],
    ['DELETE', `/v2/${REPO}/manifests/${image.manifest.digest}`],
    ['DELETE', `/v2/${REPO}/manifests/v1`],
    ['DELETE', `/v2/${REPO}/blobs/${image.layers[0]?.digest}`],
  ];
  for (const [method, path, init] of attempts) {
    const res = await client.request(
      method,
      path,
      init as RequestInit & { headers?: Record<string, string> },
    );
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(await errorCode(res), 'UNSUPPORTED', `${method} ${path}`);
  }
  const tags = await client.request('GET', `/v2/${REPO}/tags/list`);
  assert.deepEqual(await tags.json(), { name: REPO, tags: ['v1'] });
  const catalog = await client.request('GET', '/v2/_catalog');
  assert.deepEqual(await catalog.json(), { repositories: [REPO] });
  const layer = await client.request('HEAD', `/v2/${REPO}/blobs/${image.layers[0]?.digest}`);
  assert.equal(layer.status, 200);
});

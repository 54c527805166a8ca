// The two failures of the OCI distribution-spec v1.1.1 conformance suite (issue 10): a GET or HEAD of a manifest
// reference that is neither a tag nor a digest (the suite sends `.INVALID_MANIFEST_NAME`) answered 400 where
// Distribution answers 404 MANIFEST_UNKNOWN; and `POST …/blobs/uploads/?mount=<digest>` without `from` never
// mounted. Now such a mount links the blob when a repository the caller may pull has it, and otherwise opens
// a session that looks the same whether the blob exists elsewhere or not. `registry.mountDiscovery: false`
// turns the discovery off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addUser,
  basic,
  bootstrapAdmin,
  getToken,
} from '../support/access-fixtures.js';
import { type Blob, randomBlob } from '../support/images.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

const INVALID_REFERENCES = ['.INVALID_MANIFEST_NAME', 'sha256:abc', `sha384:${'a'.repeat(96)}`];

/** What a mount answer shows a caller: status, where it points, and whether it names the blob. */
async function mountShape(res: Response, repo: string): Promise<Record<string, unknown>> {
  await res.arrayBuffer();
  const location = res.headers.get('location') ?? '';
  return {
    status: res.status,
    session: new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]+$`).test(location),
    digest: res.headers.get('docker-content-digest'),
    range: res.headers.get('range'),
  };
}

async function checkInvalidReferences(client: TestClient, repo: string): Promise<void> {
  for (const reference of INVALID_REFERENCES) {
    const path = `/v2/${repo}/manifests/${reference}`;
    const get = await client.request('GET', path);
    assert.equal(get.status, 404, `GET ${path}`);
    assert.match(get.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await errorCode(get), 'MANIFEST_UNKNOWN', `GET ${path}`);
    const head = await client.request('HEAD', path);
    assert.equal(head.status, 404, `HEAD ${path}`);
    assert.equal(await head.text(), '', 'a HEAD has no body');
    // A write with such a reference is still a bad request.
    const put = await client.request('PUT', path, {
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: '{}',
    });
    assert.equal(put.status, 400, `PUT ${path}`);
    await put.arrayBuffer();
  }
}

describe('with auth none', () => {
  let server: RunningServer;
  let client: TestClient;
  const blob: Blob = randomBlob(3000);
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    server = await startTestServer({
      data: await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }),
    });
    cleanups.push(() => server.close());
    client = new TestClient(server.url);
    assert.equal((await client.pushBlob('conf/source', blob)).status, 201);
  });

  test('GET and HEAD of a reference that is neither tag nor digest: 404 MANIFEST_UNKNOWN; PUT: 400', async () => {
    await checkInvalidReferences(client, 'conf/source');
    // The same in a repository that does not exist.
    await checkInvalidReferences(client, 'conf/nothing');
  });

  test('a mount without from links a blob any repository has; an unknown blob gets a session', async () => {
    let res = await client.request('POST', `/v2/conf/target/blobs/uploads/?mount=${blob.digest}`);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/conf/target/blobs/${blob.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    assert.deepEqual(await client.blobBytes('conf/target', blob.digest), blob.bytes);

    const unknown = randomBlob(100);
    res = await client.request('POST', `/v2/conf/target/blobs/uploads/?mount=${unknown.digest}`);
    assert.equal(res.status, 202);
    const location = res.headers.get('location') as string;
    assert.match(location, /^\/v2\/conf\/target\/blobs\/uploads\//);
    res = await client.request('PUT', `${location}?digest=${unknown.digest}`, { body: unknown.bytes });
    assert.equal(res.status, 201);
  });

  test('registry.mountDiscovery: false: a mount without from is a session', async (t) => {
    const off = await startTestServer({
      data: await tempDir(t),
      config: { 'registry.mountDiscovery': false },
    });
    t.after(() => off.close());
    const c = new TestClient(off.url);
    assert.equal((await c.pushBlob('conf/source', blob)).status, 201);
    const res = await c.request('POST', `/v2/conf/target/blobs/uploads/?mount=${blob.digest}`);
    assert.equal(res.status, 202);
    await res.arrayBuffer();
    assert.equal((await c.request('HEAD', `/v2/conf/target/blobs/${blob.digest}`)).status, 404);
    // Naming the source still mounts.
    const named = await c.request(
      'POST',
      `/v2/conf/target/blobs/uploads/?mount=${blob.digest}&from=conf/source`,
    );
    assert.equal(named.status, 201);
  });
});

describe('with auth token', { concurrency: 1 }, () => {
  let server: RunningServer;
  let url: string;
  /** Developer in project `mine` (pull and push there); nothing in project `theirs`. */
  let dev: Account;
  let adminClient: AuthorizedClient;
  const readable: Blob = randomBlob(2000);
  const hidden: Blob = randomBlob(2000);

  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  before(async () => {
    server = await startTestServer({
      data: await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }),
      config: { 'auth.mode': 'token' },
    });
    cleanups.push(() => server.close());
    url = server.url;
    adminClient = new AuthorizedClient(url, basic(bootstrapAdmin(server)));
    await addProject(server, 'mine', false);
    await addProject(server, 'theirs', false);
    dev = await addUser(server, 'dev', 'pw-dev');
    await addMember(server, 'mine', dev, 'developer');
    // `readable` is only in a repository dev may pull; `hidden` only in one dev may not.
    assert.equal((await adminClient.pushBlob('mine/base', readable)).status, 201);
    assert.equal((await adminClient.pushBlob('theirs/base', hidden)).status, 201);
  });

  test('GET and HEAD of an invalid reference: 404 MANIFEST_UNKNOWN for a caller who may pull', async () => {
    await checkInvalidReferences(adminClient, 'mine/base');
    await checkInvalidReferences(new AuthorizedClient(url, basic(dev)), 'mine/base');
  });

  test('an invalid reference is 404 before access is checked: the same answer for every repository', async () => {
    for (const headers of [{ authorization: basic(dev) }, {}] as Record<string, string>[]) {
      for (const repo of ['theirs/base', 'theirs/nothing']) {
        const res = await fetch(`${url}/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`, { headers });
        assert.equal(res.status, 404, repo);
        assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN', repo);
      }
    }
  });

  test('a mount without from: 201 from a repository the caller may pull, a plain session otherwise', async () => {
    const target = 'mine/app';
    const missing = randomBlob(2000);
    const modes = {
      basic: async () => basic(dev),
      // A token that grants pull on the repository holding the blob, as the caller's rights allow.
      bearer: async () =>
        `Bearer ${await getToken(url, dev, [`repository:${target}-bearer:pull,push`, 'repository:mine/base:pull', 'repository:theirs/base:pull'])}`,
    };
    for (const [mode, authorization] of Object.entries(modes)) {
      const post = async (digest: string): Promise<Response> =>
        fetch(`${url}/v2/${target}-${mode}/blobs/uploads/?mount=${digest}`, {
          method: 'POST',
          headers: { authorization: await authorization() },
        });
      const mounted = await post(readable.digest);
      assert.equal(mounted.status, 201, mode);
      assert.equal(mounted.headers.get('location'), `/v2/${target}-${mode}/blobs/${readable.digest}`);
      assert.equal(mounted.headers.get('docker-content-digest'), readable.digest);
      await mounted.arrayBuffer();

      // A blob only in a repository the caller cannot read looks exactly like a blob that is nowhere.
      const shapes = [await post(hidden.digest), await post(missing.digest)];
      const [hiddenShape, missingShape] = await Promise.all(
        shapes.map((res) => mountShape(res, `${target}-${mode}`)),
      );
      assert.deepEqual(hiddenShape, { status: 202, session: true, digest: null, range: '0-0' }, mode);
      assert.deepEqual(hiddenShape, missingShape, mode);
      const check = await adminClient.request('HEAD', `/v2/${target}-${mode}/blobs/${hidden.digest}`);
      assert.equal(check.status, 404, `${mode}: the hidden blob was not mounted`);
    }
  });

  test('a token that does not cover the repository holding the blob mounts nothing', async () => {
    const token = await getToken(url, dev, ['repository:mine/other:pull,push']);
    const res = await fetch(`${url}/v2/mine/other/blobs/uploads/?mount=${readable.digest}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 202);
    await res.arrayBuffer();
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { makeImage } from '../support/images.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let client: TestClient;

const scope = fileScope();

before(async () => {
  server = await startTestServer({ data: await tempDir(scope) });
  client = new TestClient(server.url);
});
after(() => server.close());

describe('tag listing', () => {
  const tags = ['v1', 'v10', 'v2', 'A', 'latest', 'b_1'];
  before(async () => {
    const image = makeImage();
    await client.pushImage('list/app', 'v1', image);
    for (const tag of tags) await client.pushManifest('list/app', tag, image.manifest, image.mediaType);
  });

  test('all tags, in byte order', async () => {
    const res = await client.request('GET', '/v2/list/app/tags/list');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('link'), null);
    assert.deepEqual(await res.json(), { name: 'list/app', tags: [...tags].sort() });
  });

  test('n and last paginate, with a Link to the next page', async () => {
    const sorted = [...tags].sort();
    const seen: string[] = [];
    let path: string | undefined = '/v2/list/app/tags/list?n=4';
    let pages = 0;
    while (path) {
      const res = await client.request('GET', path);
      const body = (await res.json()) as { tags: string[] };
      assert.ok(body.tags.length <= 4);
      seen.push(...body.tags);
      const link = res.headers.get('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      pages += 1;
    }
    assert.equal(pages, 2);
    assert.deepEqual(seen, sorted);
    const res = await client.request('GET', `/v2/list/app/tags/list?last=${sorted[3]}`);
    assert.deepEqual(((await res.json()) as { tags: string[] }).tags, sorted.slice(4));
    const exact = await client.request('GET', `/v2/list/app/tags/list?n=${sorted.length}`);
    assert.equal(exact.headers.get('link'), null, 'no next page when everything fit');
    await exact.arrayBuffer();
  });

  test('n=0 gives an empty list and no Link', async () => {
    const res = await client.request('GET', '/v2/list/app/tags/list?n=0');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('link'), null);
    assert.deepEqual(await res.json(), { name: 'list/app', tags: [] });
  });

  test('unknown repository: NAME_UNKNOWN', async () => {
    const res = await client.request('GET', '/v2/no/such/repo/tags/list');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NAME_UNKNOWN');
  });
});

describe('catalog', () => {
  test('lists repositories with the same pagination', async () => {
    const image = makeImage({ layers: [10] });
    for (const repo of ['cat/c', 'cat/a', 'cat/b']) await client.pushImage(repo, 'v1', image);
    const all = (await (await client.request('GET', '/v2/_catalog')).json()) as { repositories: string[] };
    for (const repo of ['cat/a', 'cat/b', 'cat/c']) assert.ok(all.repositories.includes(repo));
    assert.deepEqual(all.repositories, [...all.repositories].sort());
    const first = await client.request('GET', '/v2/_catalog?n=1');
    const link = first.headers.get('link');
    assert.match(link ?? '', /^<\/v2\/_catalog\?n=1&last=[^>]+>; rel="next"$/);
    const firstBody = (await first.json()) as { repositories: string[] };
    assert.deepEqual(firstBody.repositories, all.repositories.slice(0, 1));
    const next = await client.request('GET', /^<([^>]+)>/.exec(link as string)?.[1] as string);
    assert.deepEqual(
      ((await next.json()) as { repositories: string[] }).repositories,
      all.repositories.slice(1, 2),
    );
  });
});

describe('errors are OCI error JSON', () => {
  test('bad names, tags and digests', async () => {
    for (const [method, path, code] of [
      ['GET', '/v2/Upper/app/tags/list', 'NAME_INVALID'],
      ['GET', '/v2/team/app_/manifests/v1', 'NAME_INVALID'],
      // A read of such a reference is 404 MANIFEST_UNKNOWN (conformance-fixes.test.ts); a write stays 400.
      ['PUT', '/v2/team/app/manifests/.hidden', 'TAG_INVALID'],
      ['PUT', '/v2/team/app/manifests/sha256:abc', 'DIGEST_INVALID'],
      ['GET', '/v2/team/app/blobs/sha1:0000000000000000000000000000000000000000', 'DIGEST_INVALID'],
    ] as const) {
      const res = await client.request(method, path);
      assert.equal(res.status, 400, path);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(await errorCode(res), code, path);
    }
  });

  test('names with .. never reach the storage', async () => {
    for (const path of [
      '/v2/../../etc/manifests/v1',
      '/v2/team/../app/blobs/uploads/',
      '/v2/a/%2e%2e/b/tags/list',
    ]) {
      const res = await rawRequest(server.hostPort, `GET ${path} HTTP/1.1\nHost: x\nConnection: close\n\n`);
      assert.ok(res);
      assert.ok(res.status === 400 || res.status === 404, `${path}: ${res.status}`);
      const body = JSON.parse(res.body) as { errors: { code: string }[] };
      assert.ok(['NAME_INVALID', 'NOT_FOUND'].includes(body.errors[0]?.code as string), res.body);
    }
  });

  test('unknown endpoints and methods', async () => {
    let res = await client.request('GET', '/v2/team/app/nothing');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NOT_FOUND');
    res = await client.request('GET', '/not/the/api');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NOT_FOUND');
    res = await client.request('POST', '/v2/team/app/manifests/v1');
    assert.equal(res.status, 405);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
    res = await client.request('PATCH', '/v2/team/app/tags/list');
    assert.equal(res.status, 405);
    await res.arrayBuffer();
  });

  test('HEAD errors carry the status without a body', async () => {
    const res = await client.request('HEAD', '/v2/team/nothing/manifests/v1');
    assert.equal(res.status, 404);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});

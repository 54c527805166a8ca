import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { makeImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { type RawResponse, rawRequest } from '../support/raw-http.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

// Issue 9, finding 8: every error under /v2/ is OCI error JSON, whoever finds it first (Node's HTTP parser,
// Fastify's router, the handlers), and a HEAD error carries the Content-Length of the body a GET would have had.

let server: RunningServer;

before(async () => {
  server = await startTestServer({ data: await tempDir({ after }) });
  await new TestClient(server.url).pushImage('team/app', 'v1', makeImage());
});
after(() => server.close());

const send = async (head: string, body?: Buffer): Promise<RawResponse> => {
  const res = await rawRequest(server.hostPort, head, body);
  assert.ok(res, 'the server answered');
  return res;
};

const request = (method: string, target: string, headers = ''): string =>
  `${method} ${target} HTTP/1.1\nHost: x\n${headers}Connection: close\n\n`;

/** The body is `{"errors":[{code,message,...}]}` and nothing else; returns the code. */
function ociErrorCode(res: RawResponse, what: string): string {
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, `${what}: content type`);
  let json: unknown;
  assert.doesNotThrow(() => {
    json = JSON.parse(res.body);
  }, `${what}: body is JSON: ${res.body}`);
  const errors = (json as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `${what}: an errors array: ${res.body}`);
  assert.deepEqual(Object.keys(json as object), ['errors'], `${what}: nothing beside errors: ${res.body}`);
  for (const error of errors as Record<string, unknown>[]) {
    assert.equal(typeof error.code, 'string', `${what}: code: ${res.body}`);
    assert.equal(typeof error.message, 'string', `${what}: message: ${res.body}`);
  }
  return (errors[0] as { code: string }).code;
}

describe('hostile requests under /v2/ get OCI error JSON', () => {
  // [name, raw request head, expected status, expected code]
  const cases: [string, string, number, string][] = [
    // curl 'http://R/v2/team/app/manifests/%ZZ' answered Fastify's own {"error":"Bad Request","code":"FST_ERR_BAD_URL"}
    [
      'bad percent-encoding in the reference',
      request('GET', '/v2/team/app/manifests/%ZZ'),
      400,
      'UNSUPPORTED',
    ],
    ['bad percent-encoding in the name', request('GET', '/v2/%ZZ/tags/list'), 400, 'UNSUPPORTED'],
    [
      'bad percent-encoding on a PUT',
      request('PUT', '/v2/team/app/blobs/uploads/%E0%A4%A'),
      400,
      'UNSUPPORTED',
    ],
    [
      'a path far longer than any name',
      request('GET', `/v2/${'a/'.repeat(3000)}tags/list`),
      400,
      'NAME_INVALID',
    ],
    ['an unknown route under /v2/', request('GET', '/v2/team/app/nothing'), 404, 'NOT_FOUND'],
    ['an unknown route outside /v2/', request('GET', '/nothing'), 404, 'NOT_FOUND'],
    // curl -X OPTIONS R/v2/team/app/manifests/v1 answered 404 NOT_FOUND: the endpoint exists, the method not
    ['OPTIONS on a manifest', request('OPTIONS', '/v2/team/app/manifests/v1'), 405, 'UNSUPPORTED'],
    ['TRACE on the base', request('TRACE', '/v2/'), 405, 'UNSUPPORTED'],
    ['PROPFIND on a blob upload', request('PROPFIND', '/v2/team/app/blobs/uploads/'), 405, 'UNSUPPORTED'],
    ['POST on the tag list', request('POST', '/v2/team/app/tags/list'), 405, 'UNSUPPORTED'],
    // Node's parser refuses these before Fastify sees a request; its default answer was {"error":"Bad Request"}
    ['a method Node does not know', request('BREW', '/v2/'), 400, 'UNSUPPORTED'],
    ['a header line without a colon', request('GET', '/v2/', 'Broken header\n'), 400, 'UNSUPPORTED'],
    ['a raw non-ASCII byte in the path', request('GET', '/v2/t\u00e9am/app/tags/list'), 400, 'UNSUPPORTED'],
    [
      'both Content-Length and chunked',
      request('PATCH', '/v2/team/app/blobs/uploads/x', 'Transfer-Encoding: chunked\nContent-Length: 3\n'),
      400,
      'UNSUPPORTED',
    ],
    [
      'a Content-Length that is not a number',
      request('PUT', '/v2/team/app/manifests/v2', 'Content-Length: abc\n'),
      400,
      'UNSUPPORTED',
    ],
    [
      'headers larger than the limit',
      request('GET', '/v2/', `X-Big: ${'a'.repeat(20_000)}\n`),
      431,
      'UNSUPPORTED',
    ],
    // Fastify's content-type check: an empty Content-Type on a body answered 405 UNSUPPORTED
    [
      'an empty Content-Type with a body',
      request('PUT', '/v2/team/app/manifests/v2', 'Content-Type: \nContent-Length: 2\n'),
      415,
      'UNSUPPORTED',
    ],
    ['a bad digest', request('GET', '/v2/team/app/blobs/sha256:zz'), 400, 'DIGEST_INVALID'],
    ['an unknown manifest', request('GET', '/v2/team/app/manifests/nope'), 404, 'MANIFEST_UNKNOWN'],
  ];

  test('each answers its status with {"errors":[{code,message}]}', async () => {
    const problems: string[] = [];
    for (const [name, head, status, code] of cases) {
      const body = head.includes('Content-Length: 2') ? Buffer.from('{}') : undefined;
      const res = await send(head, body);
      let got: string;
      try {
        got = `${res.status} ${ociErrorCode(res, name)}`;
      } catch (error) {
        got = `${res.status} ${(error as Error).message}`;
      }
      if (got !== `${status} ${code}`) problems.push(`${name}: ${got}`);
      if (res.headers['docker-distribution-api-version'] !== 'registry/2.0')
        problems.push(`${name}: no Docker-Distribution-API-Version`);
    }
    assert.deepEqual(problems, []);
  });
});

describe('pagination numbers', () => {
  // curl 'R/v2/team/app/tags/list?n=-1' answered 405 UNSUPPORTED
  test('n that is not a non-negative integer: 400 PAGINATION_NUMBER_INVALID on tags and catalog', async () => {
    const problems: string[] = [];
    for (const base of ['/v2/team/app/tags/list', '/v2/_catalog']) {
      for (const n of ['-1', 'abc', '1.5', '', '1e3', '+1', '0x10', '%ZZ']) {
        const res = await send(request('GET', `${base}?n=${n}`));
        const got = `${res.status} ${ociErrorCode(res, `${base}?n=${n}`)}`;
        if (got !== '400 PAGINATION_NUMBER_INVALID') problems.push(`${base}?n=${n}: ${got}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('a huge n is served as the largest page: everything here, no error', async () => {
    for (const n of ['99999999999999999999999999', '10001']) {
      const tags = await send(request('GET', `/v2/team/app/tags/list?n=${n}`));
      assert.equal(tags.status, 200, tags.body);
      assert.deepEqual(JSON.parse(tags.body), { name: 'team/app', tags: ['v1'] });
      const catalog = await send(request('GET', `/v2/_catalog?n=${n}`));
      assert.equal(catalog.status, 200, catalog.body);
      assert.deepEqual(JSON.parse(catalog.body), { repositories: ['team/app'] });
    }
  });
});

describe('HEAD errors', () => {
  // curl -I R/v2/team/nothing/manifests/v1 answered 404 with no Content-Length
  test('carry the status, headers and Content-Length of the GET error, and no body', async () => {
    const targets = [
      '/v2/team/nothing/manifests/v1',
      '/v2/team/app/manifests/nope',
      '/v2/team/app/manifests/sha256:abc',
      '/v2/Upper/app/manifests/v1',
      '/v2/team/app/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000',
      '/v2/team/app/nothing',
      '/v2/team/app/manifests/%ZZ',
      '/nothing',
    ];
    for (const target of targets) {
      const get = await send(request('GET', target));
      const head = await send(request('HEAD', target));
      assert.ok(head.status >= 400, `${target}: ${head.status}`);
      assert.equal(head.status, get.status, target);
      assert.equal(head.headers['content-length'], String(Buffer.byteLength(get.body)), target);
      assert.equal(head.headers['content-type'], get.headers['content-type'], target);
      assert.equal(head.body, '', `${target}: no body after the head`);
    }
  });
});

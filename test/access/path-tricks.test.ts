// Ways around the access checks that must not work: dot segments and encoded slashes sent raw over TCP
// (fetch would normalize them), upper case, project-name prefixes and globs that must not stretch, mounts
// from a project the caller cannot read (which must look the same whether the blob is there or not), upload
// sessions used by someone else than their owner, and refused requests that must leave nothing behind (no
// bytes under storage/, no upload rows, no repository, manifest or tag rows).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addRobot,
  addUser,
  basic,
  bootstrapAdmin,
  decodeJwt,
  encodeJwtPart,
  errorCodeOf,
  folderSnapshot,
  getToken,
  MANIFEST_ACCEPT,
} from '../support/access-fixtures.js';
import { type Blob, blobOf, makeImage, randomBlob, type TestImage } from '../support/images.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

describe('path tricks, mounts, upload ownership and refused requests', { concurrency: 1 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  let server: RunningServer;
  let data: string;
  let url: string;
  let admin: Account;
  let adminClient: AuthorizedClient;
  /** Developers in team (private). */
  let alice: Account;
  let bob: Account;
  /** Guest in team. */
  let guest: Account;
  /** Developer in public-p only: cannot read team. */
  let pubdev: Account;
  let outsider: Account;
  /** robot$ci: team/* pull,push. robot$pub: public-p/** pull,push. */
  let robotCi: Account;
  let robotPub: Account;
  const teamImage: TestImage = makeImage();
  const publicImage: TestImage = makeImage();
  /** A blob that exists in team/base only. */
  const secret: Blob = randomBlob(4096);

  before(async () => {
    data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-tricks-');
    server = await startTestServer({ data, config: { 'auth.mode': 'token' } });
    cleanups.push(() => server.close());
    url = server.url;
    admin = bootstrapAdmin(server);
    adminClient = new AuthorizedClient(url, basic(admin));
    await addProject(server, 'public-p', true);
    await addProject(server, 'team', false);
    [alice, bob, guest, pubdev, outsider] = (await Promise.all(
      ['alice', 'bob', 'guest', 'pubdev', 'outsider'].map((n) => addUser(server, n, `pw-${n}`)),
    )) as [Account, Account, Account, Account, Account];
    await addMember(server, 'team', alice, 'developer');
    await addMember(server, 'team', bob, 'developer');
    await addMember(server, 'team', guest, 'guest');
    await addMember(server, 'public-p', pubdev, 'developer');
    robotCi = await addRobot(server, 'robot$ci', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
    robotPub = await addRobot(server, 'robot$pub', [{ repo: 'public-p/**', actions: ['pull', 'push'] }]);
    await adminClient.pushImage('team/app', 'v1', teamImage);
    await adminClient.pushImage('public-p/app', 'v1', publicImage);
    assert.equal((await adminClient.pushBlob('team/base', secret)).status, 201);
  });

  const auth = (account: Account | undefined): Record<string, string> =>
    account ? { authorization: basic(account) } : {};
  const rawHead = (method: string, path: string, account: Account | undefined, extra = ''): string =>
    `${method} ${path} HTTP/1.1\nHost: ${server.hostPort}\nAccept: ${MANIFEST_ACCEPT}\n` +
    `${account ? `Authorization: ${basic(account)}\n` : ''}${extra}Connection: close\n\n`;
  const codeOf = (body: string): string | undefined => {
    try {
      return (JSON.parse(body) as { errors?: { code: string }[] }).errors?.[0]?.code;
    } catch {
      return undefined;
    }
  };
  /** Admin's status for a manifest or blob path. */
  const adminSees = async (path: string): Promise<number> => {
    const res = await adminClient.request('GET', path, { headers: { accept: MANIFEST_ACCEPT } });
    await res.arrayBuffer();
    return res.status;
  };

  test('dot segments, encoded slashes and dots, upper case, empty segments: 400, sent raw over TCP', async () => {
    const m = teamImage.manifest.digest;
    // Each reaches for team (private) from somewhere else, or names team in a form the grammar refuses.
    const cases: [string, string, number, string][] = [
      ['GET', '/v2/public-p/../team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p/app/../../team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p/./../team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/./team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/../v2/team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p/app/manifests/v1/../../../../team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p/%2e%2e/team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/team%2fapp/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/team%2Fapp/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p%2f..%2fteam%2fapp/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/%74eam/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/TEAM/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/Team/App/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/team//app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', '/v2/public-p\\..\\team/app/manifests/v1', 400, 'NAME_INVALID'],
      ['GET', `/v2/public-p/../team/app/manifests/${m}`, 400, 'NAME_INVALID'],
      ['GET', `/v2/public-p/../team/base/blobs/${secret.digest}`, 400, 'NAME_INVALID'],
      [
        'GET',
        `/v2/public-p/app/blobs/uploads/../../../../team/base/blobs/${secret.digest}`,
        400,
        'NAME_INVALID',
      ],
      ['GET', '/v2/public-p/../team/app/tags/list', 400, 'NAME_INVALID'],
      ['GET', `/v2/public-p/../team/app/referrers/${m}`, 400, 'NAME_INVALID'],
      // No such reference can name a manifest: 404, as the OCI conformance suite expects (for every caller).
      ['GET', '/v2/team/app/manifests/..', 404, 'MANIFEST_UNKNOWN'],
      ['PUT', '/v2/team/app/manifests/..', 400, 'TAG_INVALID'],
      ['GET', '/v2/team/app/blobs/sha256:..%2f..%2fetc', 400, 'DIGEST_INVALID'],
      ['POST', '/v2/public-p/../team/app/blobs/uploads/', 400, 'NAME_INVALID'],
    ];
    const problems: string[] = [];
    for (const caller of [undefined, pubdev, robotPub, outsider]) {
      for (const [method, path, status, code] of cases) {
        const res = await rawRequest(server.hostPort, rawHead(method, path, caller));
        const got = `${res?.status} ${codeOf(res?.body ?? '')}`;
        if (got !== `${status} ${code}`)
          problems.push(`${caller?.name ?? 'anonymous'} ${method} ${path}: ${got}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('a manifest PUT through a dot-segment path is refused and stores nothing in the other project', async () => {
    const body = publicImage.manifest.bytes;
    for (const path of [
      '/v2/public-p/../team/app/manifests/evil',
      '/v2/public-p/app/../../team/app/manifests/evil',
    ]) {
      const res = await rawRequest(
        server.hostPort,
        rawHead(
          'PUT',
          path,
          pubdev,
          `Content-Type: ${publicImage.mediaType}\nContent-Length: ${body.length}\n`,
        ),
        body,
      );
      assert.equal(res?.status, 400, path);
    }
    assert.equal(await adminSees('/v2/team/app/manifests/evil'), 404);
  });

  test('project names are whole segments; globs do not stretch (`*` one segment, `**` any depth)', async () => {
    const startUpload = async (account: Account, repo: string): Promise<number> => {
      const res = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth(account) });
      await res.arrayBuffer();
      return res.status;
    };
    const cases: [Account, string, number][] = [
      [alice, 'team/app', 202],
      [alice, 'team/deep/er/app', 202],
      [alice, 'team-evil/app', 403],
      [alice, 'teamx/app', 403],
      [alice, 'team.x/app', 403],
      [alice, 'public-p/app', 403],
      [robotCi, 'team/app', 202],
      [robotCi, 'team/a/b', 403],
      [robotCi, 'team', 403],
      [robotCi, 'team-evil/app', 403],
      [robotCi, 'xteam/app', 403],
      [robotPub, 'public-p/a/b/c', 202],
      [robotPub, 'public-p-evil/app', 403],
      [robotPub, 'public-pevil/app', 403],
      [robotPub, 'team/app', 403],
      [outsider, 'newproject/app', 403],
    ];
    const got = [];
    for (const [account, repo] of cases) got.push([account.name, repo, await startUpload(account, repo)]);
    assert.deepEqual(
      got,
      cases.map(([a, r, s]) => [a.name, r, s]),
    );
  });

  /** The parts of a 202 that could tell one session from another mount attempt, without the session id. */
  const shapeOf = async (res: Response, repo: string) => {
    const headers = Object.fromEntries(
      [...res.headers.entries()].filter(
        // x-request-id is new on every answer, whatever it answers.
        ([k]) => !['date', 'location', 'docker-upload-uuid', 'keep-alive', 'x-request-id'].includes(k),
      ),
    );
    const location = res.headers.get('location') ?? '';
    const id = res.headers.get('docker-upload-uuid') ?? '';
    return {
      status: res.status,
      headers,
      body: await res.text(),
      location: location.replace(id, '<id>'),
      locationIsRepoSession: location === `/v2/${repo}/blobs/uploads/${id}` && id.length > 0,
    };
  };

  test('mounting from a project the caller cannot read: 202 session, the same whether the blob is there or not', async () => {
    const missing = randomBlob(4096).digest;
    const target = 'public-p/app';
    const shapes = [];
    for (const mode of ['basic', 'bearer'] as const) {
      for (const [from, digest] of [
        ['team/base', secret.digest],
        ['team/base', missing],
        ['team/nothing-here', secret.digest],
        ['public-p/../team/base', secret.digest],
        ['TEAM/base', secret.digest],
      ]) {
        const headers =
          mode === 'basic'
            ? auth(pubdev)
            : {
                authorization: `Bearer ${await getToken(url, pubdev, [
                  `repository:${target}:pull,push`,
                  `repository:${from}:pull`,
                ])}`,
              };
        const res = await fetch(
          `${url}/v2/${target}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from as string)}`,
          { method: 'POST', headers },
        );
        shapes.push({
          mode,
          from,
          digest: digest === missing ? 'missing' : 'secret',
          ...(await shapeOf(res, target)),
        });
      }
    }
    const first = shapes[0];
    assert.ok(first);
    assert.equal(first.status, 202, JSON.stringify(first));
    assert.equal(first.locationIsRepoSession, true, JSON.stringify(first));
    for (const shape of shapes) {
      const { mode, from, digest, ...rest } = shape;
      const { mode: _m, from: _f, digest: _d, ...expected } = first;
      assert.deepEqual(rest, expected, `mount of the ${digest} blob from ${from} (${mode}) differs`);
    }
    assert.equal(await adminSees(`/v2/${target}/blobs/${secret.digest}`), 404, 'the secret blob was mounted');
    // Control: a caller who may read team/base mounts the same blob (so it is there to be found).
    const control = await fetch(`${url}/v2/team/app2/blobs/uploads/?mount=${secret.digest}&from=team/base`, {
      method: 'POST',
      headers: auth(alice),
    });
    assert.equal(control.status, 201);
    // Pull on the source without push on the target: no mount either.
    const guestMount = await fetch(
      `${url}/v2/team/app3/blobs/uploads/?mount=${secret.digest}&from=team/base`,
      {
        method: 'POST',
        headers: auth(guest),
      },
    );
    assert.equal(guestMount.status, 403);
    assert.equal(await adminSees(`/v2/team/app3/blobs/${secret.digest}`), 404);
  });

  test("an upload session is its owner's: another developer, a robot, even the admin get 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const blob = randomBlob(3000);
    const start = await fetch(`${url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: auth(alice) });
    assert.equal(start.status, 202);
    const location = start.headers.get('location') as string;
    const first = await fetch(`${url}${location}`, {
      method: 'PATCH',
      headers: { ...auth(alice), 'content-type': 'application/octet-stream', 'content-range': '0-999' },
      body: blob.bytes.subarray(0, 1000),
    });
    assert.equal(first.status, 202);

    const intruders: [string, Record<string, string>][] = [
      ['bob (Basic)', auth(bob)],
      [
        'bob (token)',
        { authorization: `Bearer ${await getToken(url, bob, ['repository:team/app:pull,push'])}` },
      ],
      [
        'robot$ci',
        { authorization: `Bearer ${await getToken(url, robotCi, ['repository:team/app:pull,push'])}` },
      ],
      ['admin', auth(admin)],
    ];
    const problems: string[] = [];
    for (const [who, headers] of intruders) {
      const attempts: [string, string, Buffer | undefined][] = [
        ['PATCH', location, randomBytes(1000)],
        ['PUT', `${location}?digest=${blob.digest}`, blob.bytes.subarray(1000)],
        ['GET', location, undefined],
        ['DELETE', location, undefined],
      ];
      for (const [method, path, body] of attempts) {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { ...headers, ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
          ...(body ? { body } : {}),
        });
        const code = await errorCodeOf(res);
        if (res.status !== 404 || code !== 'BLOB_UPLOAD_UNKNOWN')
          problems.push(`${who} ${method}: ${res.status} ${code}`);
      }
    }
    // The owner under another repository's path: not that repository's session.
    const elsewhere = await fetch(`${url}${location.replace('/team/app/', '/team/other/')}`, {
      headers: auth(alice),
    });
    problems.push(...(elsewhere.status === 404 ? [] : [`alice under team/other: ${elsewhere.status}`]));
    assert.deepEqual(problems, []);

    // Untouched: still alice's first 1000 bytes; she goes on with a token (same owner) and finishes.
    const status = await fetch(`${url}${location}`, { headers: auth(alice) });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-999');
    const aliceToken = await getToken(url, alice, ['repository:team/app:pull,push']);
    const second = await fetch(`${url}${location}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${aliceToken}`,
        'content-type': 'application/octet-stream',
        'content-range': '1000-1999',
      },
      body: blob.bytes.subarray(1000, 2000),
    });
    assert.equal(second.status, 202);
    const done = await fetch(`${url}${location}?digest=${blob.digest}`, {
      method: 'PUT',
      headers: { ...auth(alice), 'content-type': 'application/octet-stream' },
      body: blob.bytes.subarray(2000),
    });
    assert.equal(done.status, 201, await done.text());
    assert.deepEqual(await adminClient.blobBytes('team/app', blob.digest), blob.bytes);
  });

  test("another project's blob: a manifest naming it is refused, and it reads as absent (404 like a blob that never was)", async () => {
    const missing = randomBlob(4096).digest;
    const head = async (digest: string, account: Account) => {
      const res = await fetch(`${url}/v2/public-p/app/blobs/${digest}`, {
        method: 'HEAD',
        headers: auth(account),
      });
      return { status: res.status, length: res.headers.get('content-length') };
    };
    assert.deepEqual(await head(secret.digest, pubdev), await head(missing, pubdev));
    assert.equal((await head(secret.digest, pubdev)).status, 404);
    const config = blobOf(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    assert.equal(
      (await new AuthorizedClient(url, basic(pubdev)).pushBlob('public-p/app', config)).status,
      201,
    );
    const manifest = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: teamImage.mediaType,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: config.digest,
          size: config.bytes.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: secret.digest,
            size: secret.bytes.length,
          },
        ],
      }),
    );
    const put = await fetch(`${url}/v2/public-p/app/manifests/stolen`, {
      method: 'PUT',
      headers: { ...auth(pubdev), 'content-type': teamImage.mediaType },
      body: manifest.bytes,
    });
    assert.equal(put.status, 400);
    assert.equal(await errorCodeOf(put), 'MANIFEST_BLOB_UNKNOWN');
    // Nor through an index naming team's manifest.
    const index = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: teamImage.mediaType,
            digest: teamImage.manifest.digest,
            size: teamImage.manifest.bytes.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const putIndex = await fetch(`${url}/v2/public-p/app/manifests/stolen-index`, {
      method: 'PUT',
      headers: { ...auth(pubdev), 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: index.bytes,
    });
    assert.equal(putIndex.status, 400);
    assert.equal(await errorCodeOf(putIndex), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(await adminSees(`/v2/public-p/app/blobs/${secret.digest}`), 404);
    assert.equal(await adminSees(`/v2/public-p/app/manifests/${teamImage.manifest.digest}`), 404);
  });

  test('refused requests store nothing: no bytes, no upload rows, no repository, manifest or tag rows', async () => {
    const adminSession = await adminClient.startUpload('team/app');
    const aliceStart = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: auth(alice),
    });
    assert.equal(aliceStart.status, 202);
    const aliceSession = aliceStart.headers.get('location') as string;

    const uploads = async () => (await server.metadata.staleUploads(Date.now() + 86_400_000, 10_000)).sort();
    const catalog = async () => (await (await adminClient.request('GET', '/v2/_catalog')).json()) as object;
    const tags = async (repo: string) =>
      (await (await adminClient.request('GET', `/v2/${repo}/tags/list`)).json()) as object;
    const state = async () => ({
      files: await folderSnapshot(join(data, 'storage')),
      uploads: await uploads(),
      catalog: await catalog(),
      teamTags: await tags('team/app'),
      publicTags: await tags('public-p/app'),
    });
    const before = await state();
    assert.ok(
      Object.keys(before.files).some((f) => f.startsWith('uploads/')),
      JSON.stringify(before.files),
    );

    const big = randomBlob(2 * 1024 * 1024);
    const guestToken = await getToken(url, guest, ['repository:team/app:pull,push']);
    const devToken = await getToken(url, alice, ['repository:team/app:pull,push']);
    const { parts, payload } = decodeJwt(guestToken);
    const forged = `${parts[0]}.${encodeJwtPart({
      ...payload,
      access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
    })}.${parts[2]}`;
    const octet = { 'content-type': 'application/octet-stream' };
    const manifestType = { 'content-type': teamImage.mediaType };
    const attempts: [string, string, string, Record<string, string>, Buffer | undefined, number][] = [
      [
        'anonymous monolithic',
        'POST',
        `/v2/team/app/blobs/uploads/?digest=${big.digest}`,
        octet,
        big.bytes,
        401,
      ],
      [
        'guest monolithic',
        'POST',
        `/v2/team/app/blobs/uploads/?digest=${big.digest}`,
        { ...auth(guest), ...octet },
        big.bytes,
        403,
      ],
      [
        'guest token monolithic',
        'POST',
        `/v2/team/app/blobs/uploads/?digest=${big.digest}`,
        { authorization: `Bearer ${guestToken}`, ...octet },
        big.bytes,
        403,
      ],
      [
        'forged token monolithic',
        'POST',
        `/v2/team/app/blobs/uploads/?digest=${big.digest}`,
        { authorization: `Bearer ${forged}`, ...octet },
        big.bytes,
        401,
      ],
      ['guest PATCH', 'PATCH', adminSession, { ...auth(guest), ...octet }, big.bytes, 403],
      ['anonymous PATCH', 'PATCH', adminSession, octet, big.bytes, 401],
      [
        'guest closing PUT',
        'PUT',
        `${adminSession}?digest=${big.digest}`,
        { ...auth(guest), ...octet },
        big.bytes,
        403,
      ],
      ['bob PATCH into alice', 'PATCH', aliceSession, { ...auth(bob), ...octet }, big.bytes, 404],
      [
        'bob closing PUT into alice',
        'PUT',
        `${aliceSession}?digest=${big.digest}`,
        { ...auth(bob), ...octet },
        big.bytes,
        404,
      ],
      [
        'guest manifest',
        'PUT',
        '/v2/team/app/manifests/guest-tag',
        { ...auth(guest), ...manifestType },
        teamImage.manifest.bytes,
        403,
      ],
      [
        'anonymous manifest',
        'PUT',
        '/v2/team/app/manifests/anon-tag',
        manifestType,
        teamImage.manifest.bytes,
        401,
      ],
      [
        'outsider new repository',
        'PUT',
        '/v2/newproject/app/manifests/v1',
        { ...auth(outsider), ...manifestType },
        teamImage.manifest.bytes,
        403,
      ],
      [
        'developer outside project',
        'POST',
        `/v2/team-evil/app/blobs/uploads/?digest=${big.digest}`,
        { authorization: `Bearer ${devToken}`, ...octet },
        big.bytes,
        403,
      ],
      [
        'guest mount',
        'POST',
        `/v2/team/app/blobs/uploads/?mount=${secret.digest}&from=team/base`,
        auth(guest),
        undefined,
        403,
      ],
      ['guest blob delete', 'DELETE', `/v2/team/base/blobs/${secret.digest}`, auth(guest), undefined, 403],
      ['developer tag delete', 'DELETE', '/v2/team/app/manifests/v1', auth(alice), undefined, 403],
    ];
    const problems: string[] = [];
    for (const [what, method, path, headers, body, status] of attempts) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body ? { body, duplex: 'half' } : {}),
      } as RequestInit);
      await res.arrayBuffer();
      if (res.status !== status) problems.push(`${what}: ${res.status}, expected ${status}`);
    }
    // A chunked body and a body cut short, over raw TCP.
    await rawRequest(
      server.hostPort,
      rawHead(
        'PATCH',
        adminSession,
        guest,
        'Content-Type: application/octet-stream\nTransfer-Encoding: chunked\n',
      ),
      Buffer.concat([Buffer.from('100000\r\n'), randomBytes(0x100000), Buffer.from('\r\n0\r\n\r\n')]),
    );
    await rawRequest(
      server.hostPort,
      rawHead(
        'PUT',
        `/v2/team/app/blobs/uploads/?digest=${big.digest}`,
        undefined,
        `Content-Length: ${big.bytes.length}\n`,
      ),
      big.bytes.subarray(0, 100_000),
      true,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(await state(), before);
    assert.equal(await adminSees(`/v2/team/app/blobs/${big.digest}`), 404);
    assert.equal(await adminSees('/v2/newproject/app/manifests/v1'), 404);
    const stillThere = blobOf(teamImage.manifest.bytes);
    assert.equal(await adminSees(`/v2/team/app/manifests/${stillThere.digest}`), 200);
  });
});

// Every /v2 route × every kind of caller × a public and a private project, with the exact status each must
// get. Callers authenticate as Docker clients do: a token from GET /token (Basic credentials, or none for
// anonymous) for the scope the route needs, then `Authorization: Bearer …`; a second pass sends Basic
// credentials straight to /v2/. Mutating routes work on fresh objects made by the admin for each cell, and
// each cell checks what it changed: a refused request leaves the tag, manifest, blob or session as it was.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import type { RepoName } from '../../src/oci/names.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addPolicyRole,
  addProject,
  addRobot,
  addUser,
  basic,
  bootstrapAdmin,
  getToken,
  MANIFEST_ACCEPT,
  parseChallenge,
  SERVICE,
} from '../support/access-fixtures.js';
import { blobOf, makeImage, randomBlob, type TestImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

const ROLES = [
  'anon', // no credentials at all
  'guest', // project member with the built-in guest role (in both projects)
  'dev', // developer (in both projects)
  'maint', // maintainer (in both projects)
  'padmin', // project admin (in both projects)
  'reader', // no membership; bound to a policy role {repo: team/*, actions: [pull]}
  'outsider', // a user with no membership and no role
  'rteam', // robot$team-ci: [{repo: team/*, actions: [pull, push]}]
  'rpub', // robot$pub-ci: [{repo: public-p/**, actions: [pull, push]}]
  'admin', // the system admin
] as const;
type Role = (typeof ROLES)[number];

// Each cell works on `PROJECT/app`; a mount takes a blob from `PROJECT/base`. Tables are read by `parseTable`.
const PRIVATE_TEAM = `
route            anon guest dev  maint padmin reader outsider rteam rpub admin
base             200  200   200  200   200    200    200      200   200  200
catalog          200  200   200  200   200    200    200      200   200  200
tags             401  200   200  200   200    200    403      200   403  200
man-get-tag      401  200   200  200   200    200    403      200   403  200
man-head-tag     401  200   200  200   200    200    403      200   403  200
man-get-digest   401  200   200  200   200    200    403      200   403  200
man-head-digest  401  200   200  200   200    200    403      200   403  200
man-put-tag      401  403   201  201   201    403    403      201   403  201
man-put-digest   401  403   201  201   201    403    403      201   403  201
man-del-tag      401  403   403  202   202    403    403      403   403  202
man-del-digest   401  403   403  202   202    403    403      403   403  202
blob-get         401  200   200  200   200    200    403      200   403  200
blob-head        401  200   200  200   200    200    403      200   403  200
blob-del         401  403   403  202   202    403    403      403   403  202
upload-start     401  403   202  202   202    403    403      202   403  202
upload-mono      401  403   201  201   201    403    403      201   403  201
mount            401  403   201  201   201    403    403      201   403  201
upload-patch     401  403   202  202   202    403    403      202   403  202
upload-put       401  403   201  201   201    403    403      201   403  201
upload-status    401  403   204  204   204    403    403      204   403  204
upload-cancel    401  403   204  204   204    403    403      204   403  204
referrers        401  200   200  200   200    200    403      200   403  200
`;

const PUBLIC_P = `
route            anon guest dev  maint padmin reader outsider rteam rpub admin
base             200  200   200  200   200    200    200      200   200  200
catalog          200  200   200  200   200    200    200      200   200  200
tags             200  200   200  200   200    200    200      200   200  200
man-get-tag      200  200   200  200   200    200    200      200   200  200
man-head-tag     200  200   200  200   200    200    200      200   200  200
man-get-digest   200  200   200  200   200    200    200      200   200  200
man-head-digest  200  200   200  200   200    200    200      200   200  200
man-put-tag      401  403   201  201   201    403    403      403   201  201
man-put-digest   401  403   201  201   201    403    403      403   201  201
man-del-tag      401  403   403  202   202    403    403      403   403  202
man-del-digest   401  403   403  202   202    403    403      403   403  202
blob-get         200  200   200  200   200    200    200      200   200  200
blob-head        200  200   200  200   200    200    200      200   200  200
blob-del         401  403   403  202   202    403    403      403   403  202
upload-start     401  403   202  202   202    403    403      403   202  202
upload-mono      401  403   201  201   201    403    403      403   201  201
mount            401  403   201  201   201    403    403      403   201  201
upload-patch     401  403   202  202   202    403    403      403   202  202
upload-put       401  403   201  201   201    403    403      403   201  201
upload-status    401  403   204  204   204    403    403      403   204  204
upload-cancel    401  403   204  204   204    403    403      403   204  204
referrers        200  200   200  200   200    200    200      200   200  200
`;

// With Basic credentials (or none) on /v2/ instead of tokens, the only difference: `GET /v2/` without any
// credentials asks for them, while an anonymous *token* is a login of its own and passes.
const BASIC_DIFFERENCES: { route: string; role: Role; status: number }[] = [
  { route: 'base', role: 'anon', status: 401 },
];

/** The catalog (sorted by name), per caller: only what it may pull from (`team/*` is one segment deep). */
const PUBLIC_REPOS = ['public-p/app', 'public-p/base'];
const MEMBER_REPOS = [...PUBLIC_REPOS, 'team/app', 'team/base', 'team/sub/deep'];
const CATALOG: Record<Role, string[]> = {
  anon: PUBLIC_REPOS,
  guest: MEMBER_REPOS,
  dev: MEMBER_REPOS,
  maint: MEMBER_REPOS,
  padmin: MEMBER_REPOS,
  reader: [...PUBLIC_REPOS, 'team/app', 'team/base'],
  outsider: PUBLIC_REPOS,
  rteam: [...PUBLIC_REPOS, 'team/app', 'team/base'],
  rpub: PUBLIC_REPOS,
  admin: ['other/secret', ...MEMBER_REPOS],
};

type Table = Record<string, Record<Role, number>>;

function parseTable(text: string): Table {
  const [head, ...rows] = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
  assert.deepEqual(head?.slice(1), [...ROLES], 'table columns are the roles in order');
  const table: Table = {};
  for (const [route, ...statuses] of rows as [string, ...string[]][]) {
    assert.equal(statuses.length, ROLES.length, `row ${route} has a status per role`);
    table[route] = Object.fromEntries(ROLES.map((r, i) => [r, Number(statuses[i])])) as Record<Role, number>;
  }
  return table;
}

interface Cell {
  project: string;
  /** `PROJECT/app` */
  repo: string;
  role: Role;
  /** A number unique to the cell, for tags and fresh objects. */
  n: number;
  /** Headers that authenticate the caller for these scopes (a token, Basic credentials, or nothing). */
  auth(scopes: string[]): Promise<Record<string, string>>;
}

interface Prepared {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Checks what the request changed (or did not), given its status; returns a problem or undefined. */
  check?(status: number): Promise<string | undefined>;
}

interface Route {
  id: string;
  /** The scopes a client asks a token for; the first is what a challenge for this route must name. */
  scopes(cell: Cell): string[];
  prepare(cell: Cell): Promise<Prepared>;
}

const pull = (repo: string): string => `repository:${repo}:pull`;
const push = (repo: string): string => `repository:${repo}:pull,push`;
const del = (repo: string): string => `repository:${repo}:delete`;

describe('every /v2 route × every caller × a public and a private project', { concurrency: 1 }, () => {
  let server: RunningServer;
  let url: string;
  let admin: AuthorizedClient;
  const accounts: Partial<Record<Role, Account>> = {};
  /** The image tagged v1 in each PROJECT/app, and its referrer. */
  const images: Record<string, { image: TestImage; referrer: TestImage }> = {};
  let counter = 0;

  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  before(async () => {
    const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-matrix-');
    server = await startTestServer({ data, config: { 'auth.mode': 'token' } });
    cleanups.push(() => server.close());
    url = server.url;
    const adminAccount = bootstrapAdmin(server);
    accounts.admin = adminAccount;
    admin = new AuthorizedClient(url, basic(adminAccount));

    await addProject(server, 'public-p', true);
    await addProject(server, 'team', false);
    await addProject(server, 'other', false);
    const users = await Promise.all(
      (['guest', 'dev', 'maint', 'padmin', 'reader', 'outsider'] as const).map(
        async (role) => [role, await addUser(server, role, `pw-${role}`)] as const,
      ),
    );
    for (const [role, account] of users) accounts[role] = account;
    const projectRoles = {
      guest: 'guest',
      dev: 'developer',
      maint: 'maintainer',
      padmin: 'project-admin',
    } as const;
    for (const project of ['public-p', 'team']) {
      for (const [role, projectRole] of Object.entries(projectRoles)) {
        await addMember(server, project, accounts[role as Role] as Account, projectRole);
      }
    }
    await addPolicyRole(
      server,
      'team-readers',
      [{ repo: 'team/*', actions: ['pull'] }],
      [accounts.reader as Account],
    );
    accounts.rteam = await addRobot(server, 'robot$team-ci', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
    accounts.rpub = await addRobot(server, 'robot$pub-ci', [
      { repo: 'public-p/**', actions: ['pull', 'push'] },
    ]);

    for (const project of ['public-p', 'team']) {
      const image = makeImage();
      await admin.pushImage(`${project}/app`, 'v1', image);
      const referrer = makeImage({
        layers: [16],
        subject: { ...image.manifest, mediaType: image.mediaType },
      });
      await admin.pushImage(`${project}/app`, referrer.manifest.digest, referrer);
      images[project] = { image, referrer };
      const res = await admin.pushBlob(`${project}/base`, randomBlob(64));
      assert.equal(res.status, 201);
    }
    await admin.pushImage('team/sub/deep', 'v1', makeImage());
    await admin.pushImage('other/secret', 'v1', makeImage());
  });

  /** Admin's view of a path: its status. */
  const adminStatus = async (method: string, path: string): Promise<number> => {
    const res = await admin.request(method, path, { headers: { accept: MANIFEST_ACCEPT } });
    await res.arrayBuffer();
    return res.status;
  };
  const expectAdmin = async (method: string, path: string, want: number, what: string) => {
    const got = await adminStatus(method, path);
    return got === want ? undefined : `${what}: admin ${method} ${path} gives ${got}, expected ${want}`;
  };
  /** A manifest of its own (same blobs, an annotation of its own), not yet in the registry. */
  const freshManifest = (project: string): { bytes: Buffer; digest: string; mediaType: string } => {
    const { image } = images[project] as { image: TestImage };
    const manifest = JSON.parse(image.manifest.bytes.toString('utf8')) as Record<string, unknown>;
    manifest.annotations = { nonce: randomBytes(8).toString('hex') };
    return { ...blobOf(JSON.stringify(manifest)), mediaType: image.mediaType };
  };
  /** An upload session owned by the caller when it may start one, otherwise by the admin. */
  const sessionFor = async (cell: Cell): Promise<{ location: string; mine: boolean }> => {
    const res = await fetch(`${url}/v2/${cell.repo}/blobs/uploads/`, {
      method: 'POST',
      headers: await cell.auth([push(cell.repo)]),
    });
    await res.arrayBuffer();
    if (res.status === 202) return { location: res.headers.get('location') as string, mine: true };
    return { location: await admin.startUpload(cell.repo), mine: false };
  };
  const uploadSize = async (location: string): Promise<string | null> => {
    const res = await admin.request('GET', location);
    await res.arrayBuffer();
    return res.status === 204 ? res.headers.get('range') : `status ${res.status}`;
  };

  const ROUTES: Route[] = [
    { id: 'base', scopes: () => [], prepare: async () => ({ method: 'GET', path: '/v2/' }) },
    {
      id: 'catalog',
      scopes: () => ['registry:catalog:*'],
      prepare: async () => ({ method: 'GET', path: '/v2/_catalog' }),
    },
    {
      id: 'tags',
      scopes: (c) => [pull(c.repo)],
      prepare: async (c) => ({ method: 'GET', path: `/v2/${c.repo}/tags/list` }),
    },
    ...(['tag', 'digest'] as const).flatMap((by) =>
      (['GET', 'HEAD'] as const).map(
        (method): Route => ({
          id: `man-${method.toLowerCase()}-${by}`,
          scopes: (c) => [pull(c.repo)],
          prepare: async (c) => ({
            method,
            path: `/v2/${c.repo}/manifests/${by === 'tag' ? 'v1' : images[c.project]?.image.manifest.digest}`,
            headers: { accept: MANIFEST_ACCEPT },
          }),
        }),
      ),
    ),
    {
      id: 'man-put-tag',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const { image } = images[c.project] as { image: TestImage };
        const path = `/v2/${c.repo}/manifests/put-${c.n}`;
        return {
          method: 'PUT',
          path,
          headers: { 'content-type': image.mediaType },
          body: image.manifest.bytes,
          check: (s) => expectAdmin('GET', path, s === 201 ? 200 : 404, 'the tag'),
        };
      },
    },
    {
      id: 'man-put-digest',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const m = freshManifest(c.project);
        const path = `/v2/${c.repo}/manifests/${m.digest}`;
        return {
          method: 'PUT',
          path,
          headers: { 'content-type': m.mediaType },
          body: m.bytes,
          check: (s) => expectAdmin('GET', path, s === 201 ? 200 : 404, 'the manifest'),
        };
      },
    },
    {
      id: 'man-del-tag',
      scopes: (c) => [del(c.repo)],
      prepare: async (c) => {
        const { image } = images[c.project] as { image: TestImage };
        const res = await admin.pushManifest(c.repo, `del-${c.n}`, image.manifest, image.mediaType);
        assert.equal(res.status, 201);
        const path = `/v2/${c.repo}/manifests/del-${c.n}`;
        return {
          method: 'DELETE',
          path,
          check: (s) => expectAdmin('GET', path, s === 202 ? 404 : 200, 'the tag'),
        };
      },
    },
    {
      id: 'man-del-digest',
      scopes: (c) => [del(c.repo)],
      prepare: async (c) => {
        const m = freshManifest(c.project);
        const res = await admin.pushManifest(c.repo, m.digest, m, m.mediaType);
        assert.equal(res.status, 201);
        const path = `/v2/${c.repo}/manifests/${m.digest}`;
        return {
          method: 'DELETE',
          path,
          check: (s) => expectAdmin('GET', path, s === 202 ? 404 : 200, 'the manifest'),
        };
      },
    },
    ...(['GET', 'HEAD'] as const).map(
      (method): Route => ({
        id: `blob-${method.toLowerCase()}`,
        scopes: (c) => [pull(c.repo)],
        prepare: async (c) => ({
          method,
          path: `/v2/${c.repo}/blobs/${images[c.project]?.image.layers[0]?.digest}`,
          check: async (s) => (s === 200 || s >= 400 ? undefined : `unexpected ${s}`),
        }),
      }),
    ),
    {
      id: 'blob-del',
      scopes: (c) => [del(c.repo)],
      prepare: async (c) => {
        const blob = randomBlob(100);
        assert.equal((await admin.pushBlob(c.repo, blob)).status, 201);
        const path = `/v2/${c.repo}/blobs/${blob.digest}`;
        return {
          method: 'DELETE',
          path,
          check: (s) => expectAdmin('HEAD', path, s === 202 ? 404 : 200, 'the blob'),
        };
      },
    },
    {
      id: 'upload-start',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => ({ method: 'POST', path: `/v2/${c.repo}/blobs/uploads/` }),
    },
    {
      id: 'upload-mono',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const blob = randomBlob(300);
        return {
          method: 'POST',
          path: `/v2/${c.repo}/blobs/uploads/?digest=${blob.digest}`,
          headers: { 'content-type': 'application/octet-stream' },
          body: blob.bytes,
          check: (s) =>
            expectAdmin('HEAD', `/v2/${c.repo}/blobs/${blob.digest}`, s === 201 ? 200 : 404, 'the blob'),
        };
      },
    },
    {
      id: 'mount',
      scopes: (c) => [push(c.repo), pull(`${c.project}/base`)],
      prepare: async (c) => {
        const blob = randomBlob(200);
        assert.equal((await admin.pushBlob(`${c.project}/base`, blob)).status, 201);
        return {
          method: 'POST',
          path: `/v2/${c.repo}/blobs/uploads/?mount=${blob.digest}&from=${c.project}/base`,
          check: (s) =>
            expectAdmin('HEAD', `/v2/${c.repo}/blobs/${blob.digest}`, s === 201 ? 200 : 404, 'the mount'),
        };
      },
    },
    {
      id: 'upload-patch',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const session = await sessionFor(c);
        const before = session.mine ? undefined : await uploadSize(session.location);
        return {
          method: 'PATCH',
          path: session.location,
          headers: { 'content-type': 'application/octet-stream' },
          body: randomBytes(1000),
          check: async (s) => {
            if (session.mine) return s === 202 ? undefined : `own session refused: ${s}`;
            const now = await uploadSize(session.location);
            return now === before ? undefined : `admin's session changed from ${before} to ${now}`;
          },
        };
      },
    },
    {
      id: 'upload-put',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const session = await sessionFor(c);
        const blob = randomBlob(500);
        const sep = session.location.includes('?') ? '&' : '?';
        return {
          method: 'PUT',
          path: `${session.location}${sep}digest=${blob.digest}`,
          headers: { 'content-type': 'application/octet-stream' },
          body: blob.bytes,
          check: (s) =>
            expectAdmin('HEAD', `/v2/${c.repo}/blobs/${blob.digest}`, s === 201 ? 200 : 404, 'the blob'),
        };
      },
    },
    {
      id: 'upload-status',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => ({ method: 'GET', path: (await sessionFor(c)).location }),
    },
    {
      id: 'upload-cancel',
      scopes: (c) => [push(c.repo)],
      prepare: async (c) => {
        const session = await sessionFor(c);
        return {
          method: 'DELETE',
          path: session.location,
          check: async (s) =>
            session.mine
              ? undefined
              : expectAdmin('GET', session.location, s === 204 ? 404 : 204, "the admin's session"),
        };
      },
    },
    {
      id: 'referrers',
      scopes: (c) => [pull(c.repo)],
      prepare: async (c) => ({
        method: 'GET',
        path: `/v2/${c.repo}/referrers/${images[c.project]?.image.manifest.digest}`,
        check: async (s) => (s === 200 || s >= 400 ? undefined : `unexpected ${s}`),
      }),
    },
  ];

  test('the tables name every route and every caller', () => {
    for (const text of [PRIVATE_TEAM, PUBLIC_P]) {
      assert.deepEqual(
        Object.keys(parseTable(text)),
        ROUTES.map((r) => r.id),
      );
    }
  });

  /**
   * Runs every route for one caller on one project; returns the statuses by route and the problems seen
   * besides the statuses (wrong error codes, challenges, side effects).
   */
  const runCaller = async (
    mode: 'bearer' | 'basic',
    project: string,
    role: Role,
  ): Promise<{ statuses: Record<string, number>; problems: string[] }> => {
    const account = accounts[role];
    const auth = async (scopes: string[]): Promise<Record<string, string>> => {
      if (mode === 'basic') return account ? { authorization: basic(account) } : {};
      return { authorization: `Bearer ${await getToken(url, account, scopes)}` };
    };
    const statuses: Record<string, number> = {};
    const problems: string[] = [];
    for (const route of ROUTES) {
      const cell: Cell = { project, repo: `${project}/app`, role, n: ++counter, auth };
      const prepared = await route.prepare(cell);
      const res = await fetch(`${url}${prepared.path}`, {
        method: prepared.method,
        headers: { ...prepared.headers, ...(await auth(route.scopes(cell))) },
        ...(prepared.body ? { body: prepared.body, duplex: 'half' } : {}),
      } as RequestInit);
      const text = await res.text();
      statuses[route.id] = res.status;
      const where = `${route.id} (${prepared.method} ${prepared.path})`;
      if (res.status === 401 || res.status === 403) {
        if (prepared.method !== 'HEAD') {
          const code = (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
          const want = res.status === 401 ? 'UNAUTHORIZED' : 'DENIED';
          if (code !== want) problems.push(`${where}: error code ${code}, expected ${want}`);
        }
        if (res.status === 401) {
          const challenge = parseChallenge(res.headers.get('www-authenticate'));
          const expected = {
            scheme: 'Bearer',
            realm: `${url}/token`,
            service: SERVICE,
            ...(route.scopes(cell)[0] ? { scope: route.scopes(cell)[0] } : {}),
          };
          try {
            assert.deepEqual(challenge, expected);
          } catch {
            problems.push(
              `${where}: challenge ${JSON.stringify(challenge)}, expected ${JSON.stringify(expected)}`,
            );
          }
        }
      }
      const problem = await prepared.check?.(res.status);
      if (problem) problems.push(`${where}: ${problem}`);
    }
    return { statuses, problems };
  };

  test('_catalog lists only the repositories the caller may pull from, with a token, Basic or nothing', async () => {
    const problems: string[] = [];
    for (const role of ROLES) {
      const account = accounts[role];
      const ways: [string, Record<string, string>][] = [
        ['token', { authorization: `Bearer ${await getToken(url, account, ['registry:catalog:*'])}` }],
        ['basic', account ? { authorization: basic(account) } : {}],
      ];
      for (const [way, headers] of ways) {
        const res = await fetch(`${url}/v2/_catalog`, { headers });
        const listed =
          res.status === 200 ? ((await res.json()) as { repositories: string[] }).repositories : [];
        if (res.status !== 200 || JSON.stringify(listed) !== JSON.stringify(CATALOG[role])) {
          problems.push(
            `${role} (${way}): ${res.status} ${JSON.stringify(listed)}, expected ${JSON.stringify(CATALOG[role])}`,
          );
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('_catalog pages (n, last, Link) skip what the caller may not pull and still list all it may', async () => {
    const problems: string[] = [];
    for (const role of ROLES) {
      const account = accounts[role];
      const headers: Record<string, string> = account ? { authorization: basic(account) } : {};
      for (const n of [1, 2]) {
        const listed: string[] = [];
        let next: string | undefined = `/v2/_catalog?n=${n}`;
        for (let pages = 0; next && pages < 20; pages++) {
          const res: Response = await fetch(`${url}${next}`, { headers });
          const page = ((await res.json()) as { repositories: string[] }).repositories;
          if (page.length > n) problems.push(`${role} n=${n}: a page of ${page.length}`);
          listed.push(...page);
          next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
        }
        if (JSON.stringify(listed) !== JSON.stringify(CATALOG[role])) {
          problems.push(
            `${role} n=${n}: ${JSON.stringify(listed)}, expected ${JSON.stringify(CATALOG[role])}`,
          );
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  for (const mode of ['bearer', 'basic'] as const) {
    const title = mode === 'bearer' ? 'with tokens from GET /token' : 'with Basic credentials on /v2/';
    describe(title, () => {
      for (const [project, text] of [
        ['team', PRIVATE_TEAM],
        ['public-p', PUBLIC_P],
      ] as const) {
        for (const role of ROLES) {
          test(`${project === 'team' ? 'private' : 'public'} ${project}: ${role}`, async () => {
            const expected: Record<string, number> = {};
            for (const [route, row] of Object.entries(parseTable(text))) expected[route] = row[role];
            if (mode === 'basic') {
              for (const d of BASIC_DIFFERENCES) if (d.role === role) expected[d.route] = d.status;
            }
            const { statuses, problems } = await runCaller(mode, project, role);
            assert.deepEqual(statuses, expected, `statuses of ${role} on ${project}/app (${mode})`);
            assert.deepEqual(problems, [], `${role} on ${project}/app (${mode})`);
          });
        }
      }
    });
  }
});

// Every /api/v1 route × every caller and credential kind (issue 9, finding 1: a registry token opened the admin
// API, so `curl -H "Authorization: Bearer $AT" -X POST …/api/v1/users -d '{…"admin":true}'` made an admin).
// Columns are callers with Basic credentials; the same account with an admin API token
// (`/token?service=berth-api`) must get the same status, and a registry token of any scope gets 401 everywhere.
// A P-256 public key for the trust routes (what `berth key generate` writes as cosign.pub).
const MATRIX_PUBLIC_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();
const API_CALLERS = ['anon', 'wrong', 'outsider', 'dev', 'padmin', 'robot', 'admin'] as const;
type ApiCaller = (typeof API_CALLERS)[number];

const API_MATRIX = `
route                      anon wrong outsider dev padmin robot admin
me                         401  401   200      200 200    200   200
users-list                 401  401   403      403 403    403   200
users-create               401  401   403      403 403    403   201
users-get-self             401  401   200      403 403    403   200
users-delete               401  401   403      403 403    403   204
users-password-other       401  401   403      403 403    403   204
users-admin-flag           401  401   403      403 403    403   200
robots-list                401  401   403      403 403    403   200
robots-create              401  401   403      403 403    403   201
robots-get                 401  401   403      403 403    403   200
robots-delete              401  401   403      403 403    403   204
projects-list              401  401   200      200 200    200   200
projects-create            401  401   403      403 403    403   201
projects-get               401  401   404      200 200    200   200
projects-patch             401  401   404      403 200    403   200
projects-delete            401  401   403      403 403    403   204
members-list               401  401   404      200 200    403   200
members-put                401  401   404      403 200    403   200
members-delete             401  401   404      403 204    403   204
retention-get              401  401   404      200 200    403   200
retention-put              401  401   404      403 200    403   200
retention-delete           401  401   404      403 204    403   204
retention-run              401  401   404      403 201    403   201
retention-runs             401  401   404      200 200    403   200
immutability-list          401  401   404      200 200    200   200
immutability-add           401  401   404      403 201    403   201
immutability-add-other     401  401   404      404 404    404   201
immutability-delete        401  401   404      403 204    403   204
admission-get              401  401   404      200 200    403   200
admission-put              401  401   404      403 200    403   200
admission-delete           401  401   404      403 204    403   204
trust-list                 401  401   404      200 200    403   200
trust-add                  401  401   404      403 201    403   201
trust-delete               401  401   404      403 204    403   204
roles-list                 401  401   403      403 403    403   200
roles-get                  401  401   403      403 403    403   200
roles-put                  401  401   403      403 403    403   201
roles-delete               401  401   403      403 403    403   204
bindings-put               401  401   403      403 403    403   200
bindings-delete            401  401   403      403 403    403   204
audit                      401  401   403      403 403    403   200
events                     401  401   200      200 200    200   200
gc-start                   401  401   403      403 403    403   202
gc-cancel                  401  401   403      403 403    403   200
gc-status                  401  401   403      403 403    403   200
gc-history                 401  401   403      403 403    403   200
gc-run                     401  401   403      403 403    403   200
repository-delete          401  401   404      403 200    403   200
repository-delete-other    401  401   404      404 404    404   200
storage                    401  401   200      200 200    200   200
storage-project            401  401   404      200 200    200   200
report                     401  401   403      403 403    403   200
report-team                401  401   404      403 200    403   200
report-other               401  401   404      404 404    404   200
no-such-route              401  401   404      404 404    404   404
`;

describe('every /api/v1 route × every caller and credential kind', { concurrency: 1 }, () => {
  let server: RunningServer;
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const accounts: Partial<Record<ApiCaller, Account>> = {};
  let hash: string;
  let counter = 0;

  before(async () => {
    const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-api-matrix-');
    server = await startTestServer({ data, config: { 'auth.mode': 'token' } });
    cleanups.push(() => server.close());
    accounts.admin = bootstrapAdmin(server);
    await addProject(server, 'team', false);
    await addProject(server, 'other', false);
    accounts.outsider = await addUser(server, 'outsider', 'pw-outsider');
    accounts.dev = await addUser(server, 'dev', 'pw-dev');
    accounts.padmin = await addUser(server, 'padmin', 'pw-padmin');
    await addMember(server, 'team', accounts.dev, 'developer');
    await addMember(server, 'team', accounts.padmin, 'project-admin');
    accounts.robot = await addRobot(server, 'robot$team-ci', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
    await addPolicyRole(server, 'readers', [{ repo: 'team/*', actions: ['pull'] }], []);
    // One hash for every fresh account: the accounts are targets, nobody logs in as them.
    const row = await server.metadata.access.getUser('outsider');
    hash = row?.passwordHash ?? '';
  });

  /** A fresh name per request, and objects made straight in the store (what the request acts on). */
  const fresh = (prefix: string): string => `${prefix}${++counter}`;
  const freshRepositoryDelete = async (project: string): Promise<Request> => {
    const name = `${project}/${fresh('gone-')}` as RepoName;
    await server.metadata.ensureRepository(name);
    return {
      method: 'DELETE',
      path: `/repositories/${name}`,
      check: async (status) =>
        ((await server.metadata.repositoryId(name)) === undefined) === (status === 200)
          ? undefined
          : `repository ${name}`,
    };
  };
  const store = () => server.metadata.access;
  const admissionStore = () => server.metadata.admission;
  const trustStore = () => server.metadata.trust;
  const freshUser = async (): Promise<string> => {
    const name = fresh('target-');
    assert.ok(await store().createUser({ name, passwordHash: hash, admin: false, createdAt: Date.now() }));
    return name;
  };

  /** team has a retention policy (a delete in the row before may have removed it). */
  const keepPolicy = () =>
    server.metadata.retention.setPolicy({
      project: 'team',
      policy: { rules: [{ keep: { always: true } }] },
      updatedAt: Date.now(),
      updatedBy: 'admin',
    });

  type Request = {
    method: string;
    path: string;
    body?: unknown;
    check?: (status: number) => Promise<string | undefined>;
  };
  const ROUTES: Record<string, (caller: ApiCaller) => Promise<Request>> = {
    me: async () => ({ method: 'GET', path: '/me' }),
    'users-list': async () => ({ method: 'GET', path: '/users' }),
    'users-create': async () => {
      const name = fresh('made-');
      return {
        method: 'POST',
        path: '/users',
        body: { name, password: 'Mallory12345', admin: true },
        check: async (status) =>
          ((await store().getUser(name)) !== undefined) === (status === 201) ? undefined : `user ${name}`,
      };
    },
    'users-get-self': async (caller) => ({
      method: 'GET',
      path: `/users/${caller === 'admin' ? 'admin' : 'outsider'}`,
    }),
    'users-delete': async () => {
      const name = await freshUser();
      return {
        method: 'DELETE',
        path: `/users/${name}`,
        check: async (status) =>
          ((await store().getUser(name)) === undefined) === (status === 204) ? undefined : `user ${name}`,
      };
    },
    'users-password-other': async () => {
      const name = await freshUser();
      return {
        method: 'PUT',
        path: `/users/${name}/password`,
        body: { password: 'NewAdminPw123' },
        check: async (status) =>
          ((await store().getUser(name))?.passwordHash !== hash) === (status === 204)
            ? undefined
            : `password of ${name}`,
      };
    },
    'users-admin-flag': async () => {
      const name = await freshUser();
      return {
        method: 'PUT',
        path: `/users/${name}/admin`,
        body: { admin: true },
        check: async (status) =>
          (await store().getUser(name))?.admin === (status === 200) ? undefined : `admin flag of ${name}`,
      };
    },
    'robots-list': async () => ({ method: 'GET', path: '/robots' }),
    'robots-create': async () => ({
      method: 'POST',
      path: '/robots',
      body: { name: fresh('bot-'), permissions: [{ repo: 'team/*', actions: ['pull'] }] },
    }),
    'robots-get': async () => ({ method: 'GET', path: '/robots/team-ci' }),
    'robots-delete': async () => {
      const name = `robot$${fresh('gone-')}`;
      await store().createRobot({
        name,
        secretHash: hash,
        permissions: [],
        description: '',
        expiresAt: null,
        createdBy: 'admin',
        createdAt: Date.now(),
      });
      return {
        method: 'DELETE',
        path: `/robots/${name}`,
        check: async (status) =>
          ((await store().getRobot(name)) === undefined) === (status === 204) ? undefined : `robot ${name}`,
      };
    },
    'projects-list': async () => ({ method: 'GET', path: '/projects' }),
    'projects-create': async () => ({ method: 'POST', path: '/projects', body: { name: fresh('proj-') } }),
    'projects-get': async () => ({ method: 'GET', path: '/projects/team' }),
    'projects-patch': async () => ({ method: 'PATCH', path: '/projects/team', body: { public: false } }),
    'projects-delete': async () => {
      const name = fresh('doomed-');
      await store().createProject({ name, public: false, createdAt: Date.now() });
      return {
        method: 'DELETE',
        path: `/projects/${name}`,
        check: async (status) =>
          ((await store().getProject(name)) === undefined) === (status === 204)
            ? undefined
            : `project ${name}`,
      };
    },
    'members-list': async () => ({ method: 'GET', path: '/projects/team/members' }),
    'members-put': async () => ({
      method: 'PUT',
      path: `/projects/team/members/user/${await freshUser()}`,
      body: { role: 'developer' },
    }),
    'members-delete': async () => {
      const name = await freshUser();
      await store().setMember({ project: 'team', subjectKind: 'user', subject: name, role: 'guest' });
      return {
        method: 'DELETE',
        path: `/projects/team/members/user/${name}`,
        check: async (status) =>
          ((await store().memberRole('team', 'user', name)) === undefined) === (status === 204)
            ? undefined
            : `membership of ${name}`,
      };
    },
    'retention-get': async () => {
      await keepPolicy();
      return { method: 'GET', path: '/projects/team/retention' };
    },
    'retention-put': async () => {
      const share = ++counter / 1_000_000;
      return {
        method: 'PUT',
        path: '/projects/team/retention',
        body: { policy: { maxDeleteShare: share, rules: [{ keep: { always: true } }] } },
        check: async (status) => {
          const stored = (await server.metadata.retention.getPolicy('team'))?.policy as {
            maxDeleteShare?: number;
          };
          return (stored?.maxDeleteShare === share) === (status === 200)
            ? undefined
            : 'retention policy of team';
        },
      };
    },
    'retention-delete': async () => {
      await keepPolicy();
      return {
        method: 'DELETE',
        path: '/projects/team/retention',
        check: async (status) =>
          ((await server.metadata.retention.getPolicy('team')) === undefined) === (status === 204)
            ? undefined
            : 'retention policy of team',
      };
    },
    'retention-run': async () => {
      await keepPolicy();
      const runs = (await server.metadata.retention.listRuns('team', 1000)).length;
      return {
        method: 'POST',
        path: '/projects/team/retention/runs',
        body: { dryRun: true },
        check: async (status) =>
          (await server.metadata.retention.listRuns('team', 1000)).length > runs === (status === 201)
            ? undefined
            : 'retention runs of team',
      };
    },
    'retention-runs': async () => ({ method: 'GET', path: '/projects/team/retention/runs' }),
    'immutability-list': async () => ({ method: 'GET', path: '/projects/team/immutability' }),
    'immutability-add': async () => ({
      method: 'POST',
      path: '/projects/team/immutability',
      body: { repository: fresh('imm-'), tag: 'v*' },
    }),
    // Another project than the caller's own (private, no member but admin): a project-admin of team changes
    // nothing in other.
    'immutability-add-other': async () => {
      const repository = fresh('imm-other-');
      return {
        method: 'POST',
        path: '/projects/other/immutability',
        body: { repository, tag: 'v*' },
        check: async (status) =>
          (await server.metadata.immutability.listRules('other')).some((r) => r.repository === repository) ===
          (status === 201)
            ? undefined
            : `rule ${repository}`,
      };
    },
    'immutability-delete': async () => {
      const rule = await server.metadata.immutability.addRule({
        project: 'team',
        repository: fresh('imm-gone-'),
        tag: 'v*',
        kind: 'include',
        createdAt: Date.now(),
      });
      return {
        method: 'DELETE',
        path: `/projects/team/immutability/${rule.id}`,
        check: async (status) =>
          (await server.metadata.immutability.listRules('team')).every((r) => r.id !== rule.id) ===
          (status === 204)
            ? undefined
            : `rule ${rule.id}`,
      };
    },
    // A project's admission policy (issue 14): members read it, project-admins and system admins change it.
    'admission-get': async () => {
      await admissionStore().setPolicy({
        project: 'team',
        policy: 'version: 1\n',
        updatedAt: 0,
        updatedBy: 'x',
      });
      return { method: 'GET', path: '/projects/team/admission' };
    },
    'admission-put': async () => {
      await admissionStore().removePolicy('team');
      return {
        method: 'PUT',
        path: '/projects/team/admission',
        body: { policy: 'version: 1\nmode: warn\n' },
        check: async (status) =>
          ((await admissionStore().getPolicy('team')) !== undefined) === (status === 200)
            ? undefined
            : 'admission policy of team',
      };
    },
    'admission-delete': async () => {
      await admissionStore().setPolicy({
        project: 'team',
        policy: 'version: 1\n',
        updatedAt: 0,
        updatedBy: 'x',
      });
      return {
        method: 'DELETE',
        path: '/projects/team/admission',
        check: async (status) =>
          ((await admissionStore().getPolicy('team')) === undefined) === (status === 204)
            ? undefined
            : 'admission policy of team',
      };
    },
    'trust-list': async () => ({ method: 'GET', path: '/projects/team/trust' }),
    'trust-add': async () => {
      const before = (await trustStore().listRules('team')).length;
      return {
        method: 'POST',
        path: '/projects/team/trust',
        body: { repository: 'team/signed/*', publicKey: MATRIX_PUBLIC_KEY },
        check: async (status) => {
          const added = (await trustStore().listRules('team')).length - before;
          // Each added rule is removed again, so that the project never nears its rule limit.
          for (const rule of (await trustStore().listRules('team')).slice(before))
            await trustStore().removeRule('team', rule.id);
          return (added === 1) === (status === 201) ? undefined : 'trust rule of team';
        },
      };
    },
    'trust-delete': async () => {
      const rule = await trustStore().addRule({
        project: 'team',
        repositoryGlob: 'team/gone/*',
        publicKey: MATRIX_PUBLIC_KEY,
        createdAt: 0,
      });
      return {
        method: 'DELETE',
        path: `/projects/team/trust/${rule.id}`,
        check: async (status) => {
          const left = (await trustStore().listRules('team')).some((r) => r.id === rule.id);
          if (left) await trustStore().removeRule('team', rule.id);
          return !left === (status === 204) ? undefined : `trust rule ${rule.id}`;
        },
      };
    },
    'roles-list': async () => ({ method: 'GET', path: '/roles' }),
    'roles-get': async () => ({ method: 'GET', path: '/roles/readers' }),
    'roles-put': async () => ({
      method: 'PUT',
      path: `/roles/${fresh('role-')}`,
      body: { policies: [{ repo: '**', actions: ['pull', 'push', 'delete'] }] },
    }),
    'roles-delete': async () => {
      const name = fresh('oldrole-');
      await store().putRole(name, [], Date.now());
      return { method: 'DELETE', path: `/roles/${name}` };
    },
    'bindings-put': async () => ({
      method: 'PUT',
      path: `/roles/readers/bindings/user/${await freshUser()}`,
    }),
    'bindings-delete': async () => {
      const name = await freshUser();
      await store().bindRole('readers', 'user', name);
      return { method: 'DELETE', path: `/roles/readers/bindings/user/${name}` };
    },
    audit: async () => ({ method: 'GET', path: '/audit' }),
    // Every account may list events; which ones it sees is test/access/events-access.test.ts's matter.
    events: async () => ({ method: 'GET', path: '/events' }),
    // A dry run, cancelled right after (one run at a time: the next caller's start must not meet this one).
    'gc-start': async () => ({ method: 'POST', path: '/gc', body: { dryRun: true, grace: '1h' } }),
    'gc-cancel': async () => ({ method: 'POST', path: '/gc/cancel', body: {} }),
    'gc-status': async () => ({ method: 'GET', path: '/gc' }),
    'gc-history': async () => ({ method: 'GET', path: '/gc/history?limit=5' }),
    // Run 1 is the first admin caller's dry run above.
    report: async () => ({ method: 'GET', path: '/report' }),
    'report-team': async () => ({ method: 'GET', path: '/report?project=team' }),
    'report-other': async () => ({ method: 'GET', path: '/report?project=other&days=30' }),
    'gc-run': async () => ({ method: 'GET', path: '/gc/1' }),
    // A fresh repository per caller; the check sees it gone exactly when the answer says so.
    'repository-delete': async () => freshRepositoryDelete('team'),
    'repository-delete-other': async () => freshRepositoryDelete('other'),
    storage: async () => ({ method: 'GET', path: '/storage' }),
    'storage-project': async () => ({ method: 'GET', path: '/storage?project=team' }),
    'no-such-route': async () => ({ method: 'GET', path: '/no-such-route' }),
  };

  const send = async (request: Request, authorization: string | undefined): Promise<number> => {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}/api/v1${request.path}`, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    });
    await res.arrayBuffer();
    return res.status;
  };

  /** Every route once as `caller` with the credential; the statuses and what the changes check found. */
  const runAll = async (caller: ApiCaller, authorization: () => Promise<string | undefined>) => {
    const statuses: Record<string, number> = {};
    const problems: string[] = [];
    for (const [id, prepare] of Object.entries(ROUTES)) {
      const request = await prepare(caller);
      const status = await send(request, await authorization());
      statuses[id] = status;
      const problem = await request.check?.(status);
      if (problem) problems.push(`${id}: ${problem} does not match status ${status}`);
    }
    return { statuses, problems };
  };

  const expectedFor = (caller: ApiCaller): Record<string, number> => {
    const [head, ...rows] = API_MATRIX.trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    assert.deepEqual(head?.slice(1), [...API_CALLERS]);
    const column = API_CALLERS.indexOf(caller) + 1;
    assert.deepEqual(
      rows.map((r) => r[0]).sort(),
      Object.keys(ROUTES).sort(),
      'the table has a row per route',
    );
    return Object.fromEntries(rows.map((r) => [r[0] as string, Number(r[column])]));
  };

  const apiToken = async (account: Account): Promise<string> => {
    const res = await fetch(`${server.url}/token?service=berth-api`, {
      headers: { authorization: basic(account) },
    });
    assert.equal(res.status, 200);
    return `Bearer ${((await res.json()) as { token: string }).token}`;
  };

  for (const caller of API_CALLERS) {
    test(`${caller} with Basic credentials${caller === 'anon' ? ' (none)' : ''}`, async () => {
      const credential = async (): Promise<string | undefined> => {
        if (caller === 'anon') return undefined;
        // A name per request: wrong guesses for one account would reach its limit and turn 401 into 429.
        if (caller === 'wrong') return basic({ name: fresh('guess-'), password: 'wrong-password' });
        return basic(accounts[caller] as Account);
      };
      const { statuses, problems } = await runAll(caller, credential);
      assert.deepEqual(statuses, expectedFor(caller));
      assert.deepEqual(problems, []);
    });
  }

  for (const caller of ['outsider', 'dev', 'padmin', 'robot', 'admin'] as const) {
    test(`${caller} with an admin API token: as with Basic credentials`, async () => {
      const token = await apiToken(accounts[caller] as Account);
      const { statuses, problems } = await runAll(caller, async () => token);
      assert.deepEqual(statuses, expectedFor(caller));
      assert.deepEqual(problems, []);
    });
  }

  const REGISTRY_SCOPES = [
    [],
    ['repository:team/app:pull'],
    ['repository:team/app:pull,push'],
    ['repository:team/app:*'],
    ['repository:team/app:delete'],
    ['registry:catalog:*'],
  ];
  for (const caller of ['anon', 'dev', 'padmin', 'robot', 'admin'] as const) {
    test(`${caller}'s registry tokens of every scope: 401 on every route, and nothing changes`, async () => {
      const account = caller === 'anon' ? undefined : accounts[caller];
      for (const scopes of REGISTRY_SCOPES) {
        const token = `Bearer ${await getToken(server.url, account, scopes)}`;
        const { statuses, problems } = await runAll(caller, async () => token);
        assert.deepEqual(
          statuses,
          Object.fromEntries(Object.keys(ROUTES).map((id) => [id, 401])),
          `registry token of ${caller} for ${JSON.stringify(scopes)}`,
        );
        assert.deepEqual(problems, []);
      }
    });
  }
});

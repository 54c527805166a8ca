// The admin API, /api/v1, against a real Berth with access checks on, over real HTTP: every route, who may
// call it (system admin, project-admin, plain user, robot, nobody), its refusals (401, 403, 404, 409, 400,
// 429), secrets shown once and stored hashed, robots that log in at /token and push only where allowed,
// revocation and expiry, and the audit trail every change leaves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifySecret } from '../../src/access/password-hash.js';
import { ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import { randomBlob } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN = { name: 'admin', password: 'admin-password-1' };
const SERVICE = 'berth-registry';

interface Account {
  name: string;
  password: string;
}

interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, checked field by field
  body: any;
}

function basic(account: Account): string {
  return `Basic ${Buffer.from(`${account.name}:${account.password}`).toString('base64')}`;
}

let server: RunningServer;

/** One admin API call; `as` is an account (Basic), a raw Authorization value, or null for none. */
async function api(
  method: string,
  path: string,
  options: { as?: Account | string | null; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  const as = options.as === undefined ? ADMIN : options.as;
  if (typeof as === 'string') headers.authorization = as;
  else if (as) headers.authorization = basic(as);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(new URL(path, server.url), {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

function expectError(res: ApiResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.errors?.[0]?.code, code, JSON.stringify(res.body));
  if (message) assert.match(res.body.errors[0].message, message);
}

/** A registry token for the scopes, fetched as Docker clients do; undefined when the login is refused. */
async function registryToken(account: Account, scopes: string[]): Promise<string | undefined> {
  const url = new URL('/token', server.url);
  url.searchParams.set('service', SERVICE);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const res = await fetch(url, { headers: { authorization: basic(account) } });
  if (res.status === 401) return undefined;
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

const API_SERVICE = 'berth-api';

/** An admin API token (`/token?service=berth-api`), as the CLI or the web UI gets one. */
async function apiToken(account: Account): Promise<string> {
  const res = await fetch(new URL(`/token?service=${API_SERVICE}`, server.url), {
    headers: { authorization: basic(account) },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { token: string; expires_in: number };
  assert.equal(body.expires_in, 900);
  return body.token;
}

/** Pushes a small blob with a bearer token; the status of the step that decided (202 then 201 on success). */
async function pushBlob(token: string, repo: string): Promise<number> {
  const blob = randomBlob(64);
  const auth = { authorization: `Bearer ${token}` };
  const start = await fetch(new URL(`/v2/${repo}/blobs/uploads/`, server.url), {
    method: 'POST',
    headers: auth,
  });
  await start.arrayBuffer();
  if (start.status !== 202) return start.status;
  const location = new URL(start.headers.get('location') as string, server.url);
  location.searchParams.set('digest', blob.digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: blob.bytes,
  });
  await put.arrayBuffer();
  return put.status;
}

/** Whether a fresh token for `repo` with `account` allows a push there. */
async function canPush(account: Account, repo: string): Promise<boolean> {
  const token = await registryToken(account, [`repository:${repo}:pull,push`]);
  if (!token) return false;
  const status = await pushBlob(token, repo);
  assert.ok([201, 401, 403].includes(status), `push to ${repo}: unexpected ${status}`);
  return status === 201;
}

async function createUser(name: string, password: string, admin = false): Promise<Account> {
  const res = await api('POST', '/api/v1/users', { body: { name, password, admin } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { name, password };
}

const scope = fileScope();
// The server's time: it starts at the real time (robot expiry dates are checked against the real time on
// input) and moves only when a test moves it.
const clock = new ManualClock(Date.now());

before(async () => {
  const data = await tempDir(scope, 'berth-admin-api-');
  server = await startTestServer({
    data,
    config: { 'auth.mode': 'token', 'auth.loginAttempts': 5 },
    adminPassword: ADMIN.password,
    clock,
  });
});
after(() => server.close());

describe('authentication', () => {
  const routes: [string, string][] = [
    ['GET', '/api/v1/me'],
    ['GET', '/api/v1/users'],
    ['POST', '/api/v1/users'],
    ['GET', '/api/v1/users/admin'],
    ['DELETE', '/api/v1/users/admin'],
    ['PUT', '/api/v1/users/admin/password'],
    ['PUT', '/api/v1/users/admin/admin'],
    ['GET', '/api/v1/robots'],
    ['POST', '/api/v1/robots'],
    ['GET', '/api/v1/robots/ci'],
    ['DELETE', '/api/v1/robots/ci'],
    ['GET', '/api/v1/projects'],
    ['POST', '/api/v1/projects'],
    ['GET', '/api/v1/projects/team'],
    ['PATCH', '/api/v1/projects/team'],
    ['DELETE', '/api/v1/projects/team'],
    ['GET', '/api/v1/projects/team/members'],
    ['PUT', '/api/v1/projects/team/members/user/admin'],
    ['DELETE', '/api/v1/projects/team/members/user/admin'],
    ['GET', '/api/v1/roles'],
    ['GET', '/api/v1/roles/dev'],
    ['PUT', '/api/v1/roles/dev'],
    ['DELETE', '/api/v1/roles/dev'],
    ['PUT', '/api/v1/roles/dev/bindings/user/admin'],
    ['DELETE', '/api/v1/roles/dev/bindings/user/admin'],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/no-such-route'],
  ];

  test('every route answers 401 with a Basic challenge without credentials, and changes nothing', async () => {
    for (const [method, path] of routes) {
      const res = await api(method, path, {
        as: null,
        body: method === 'GET' ? undefined : { name: 'sneaky', password: 'sneaky-password' },
      });
      expectError(res, 401, 'UNAUTHORIZED');
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="berth"', `${method} ${path}`);
    }
    assert.equal(await server.metadata.access.getUser('sneaky'), undefined);
  });

  test('a wrong password, a malformed header, a forged token and an anonymous token are 401', async () => {
    expectError(
      await api('GET', '/api/v1/me', { as: { name: 'admin', password: 'wrong' } }),
      401,
      'UNAUTHORIZED',
    );
    expectError(await api('GET', '/api/v1/me', { as: 'Basic bm9jb2xvbg==' }), 401, 'UNAUTHORIZED');
    expectError(await api('GET', '/api/v1/me', { as: 'Bearer not.a.token' }), 401, 'UNAUTHORIZED');
    expectError(await api('GET', '/api/v1/me', { as: 'Digest whatever' }), 401, 'UNAUTHORIZED');
    const anonymous = await fetch(new URL(`/token?service=${SERVICE}`, server.url));
    const { token } = (await anonymous.json()) as { token: string };
    expectError(await api('GET', '/api/v1/me', { as: `Bearer ${token}` }), 401, 'UNAUTHORIZED');
  });

  // Issue 9, finding 1: AT=$(curl -u admin:PW "$R/token?service=berth-registry&scope=repository:pub/open:pull")
  // then curl -H "Authorization: Bearer $AT" -X POST -d '{"name":"mallory",…,"admin":true}' $R/api/v1/users got 201.
  test('GET /api/v1/me with Basic credentials and with an API token; a registry token of any scope is 401', async () => {
    assert.deepEqual((await api('GET', '/api/v1/me')).body, { name: 'admin', kind: 'user', admin: true });
    for (const scopes of [
      [],
      ['repository:pub/open:pull'],
      ['repository:team/app:*'],
      ['registry:catalog:*'],
    ]) {
      const token = await registryToken(ADMIN, scopes);
      expectError(await api('GET', '/api/v1/me', { as: `Bearer ${token}` }), 401, 'UNAUTHORIZED');
      expectError(
        await api('POST', '/api/v1/users', {
          as: `Bearer ${token}`,
          body: { name: 'mallory', password: 'Mallory12345', admin: true },
        }),
        401,
        'UNAUTHORIZED',
      );
      expectError(
        await api('PUT', '/api/v1/users/admin/password', {
          as: `Bearer ${token}`,
          body: { password: 'NewAdminPw123' },
        }),
        401,
        'UNAUTHORIZED',
      );
    }
    assert.equal(await server.metadata.access.getUser('mallory'), undefined);
    const token = await apiToken(ADMIN);
    const res = await api('GET', '/api/v1/me', { as: `Bearer ${token}` });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { name: 'admin', kind: 'user', admin: true });
    // And the other way round: an API token does not open /v2/.
    const v2 = await fetch(new URL('/v2/', server.url), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(v2.status, 401);
    // Nobody gets an API token without logging in, nor with a token instead of a password.
    const anonymous = await fetch(new URL(`/token?service=${API_SERVICE}`, server.url));
    assert.equal(anonymous.status, 401);
    const withToken = await fetch(new URL(`/token?service=${API_SERVICE}`, server.url), {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(withToken.status, 401);
  });

  test('guessing passwords is rate limited: 429 TOOMANYREQUESTS, even for the right password', async () => {
    const victim = await createUser('victim', 'victim-password');
    for (let i = 0; i < 5; i++) {
      expectError(
        await api('GET', '/api/v1/me', { as: { name: 'victim', password: `guess-${i}` } }),
        401,
        'UNAUTHORIZED',
      );
    }
    expectError(await api('GET', '/api/v1/me', { as: victim }), 429, 'TOOMANYREQUESTS');
  });
});

describe('users', () => {
  let bob: Account;

  test('POST with a password: 201, the password is not echoed, the store has a scrypt hash', async () => {
    const res = await api('POST', '/api/v1/users', { body: { name: 'bob', password: 'bob-password-1' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, 'bob');
    assert.equal(res.body.admin, false);
    assert.equal(res.body.password, undefined);
    assert.match(res.body.createdAt, /^\d{4}-\d{2}-\d{2}T/);
    bob = { name: 'bob', password: 'bob-password-1' };
    const row = await server.metadata.access.getUser('bob');
    assert.match(row?.passwordHash ?? '', /^scrypt\$/);
    assert.ok(!row?.passwordHash.includes('bob-password-1'));
    assert.deepEqual((await api('GET', '/api/v1/me', { as: bob })).body, {
      name: 'bob',
      kind: 'user',
      admin: false,
    });
  });

  test('POST without a password: one is generated, returned once, stored hashed, and works', async () => {
    const res = await api('POST', '/api/v1/users', { body: { name: 'carol' } });
    assert.equal(res.status, 201);
    const password = res.body.password as string;
    assert.ok(password.length >= 32, 'a long generated password');
    const row = await server.metadata.access.getUser('carol');
    assert.ok(row && (await verifySecret(password, row.passwordHash)));
    assert.ok(!row.passwordHash.includes(password));
    const again = await api('GET', '/api/v1/users/carol');
    assert.deepEqual(Object.keys(again.body).sort(), ['admin', 'createdAt', 'name']);
    const list = await api('GET', '/api/v1/users');
    assert.ok(!JSON.stringify(list.body).includes(password));
    assert.ok(!JSON.stringify(list.body).includes('scrypt'));
    assert.equal((await api('GET', '/api/v1/me', { as: { name: 'carol', password } })).status, 200);
  });

  test('list and get', async () => {
    const list = await api('GET', '/api/v1/users');
    assert.equal(list.status, 200);
    const names = (list.body.users as { name: string }[]).map((u) => u.name);
    for (const name of ['admin', 'bob', 'carol']) assert.ok(names.includes(name), name);
    assert.equal((await api('GET', '/api/v1/users/bob')).body.name, 'bob');
    expectError(await api('GET', '/api/v1/users/nobody'), 404, 'NOT_FOUND');
  });

  test('409 for a taken name; 400 for bad names, short passwords, unknown fields and bodies that are not JSON', async () => {
    expectError(await api('POST', '/api/v1/users', { body: { name: 'bob' } }), 409, 'CONFLICT');
    expectError(await api('POST', '/api/v1/users', { body: { name: 'Bob' } }), 400, 'INVALID', /^name: /);
    expectError(
      await api('POST', '/api/v1/users', { body: { name: 'robot$bob' } }),
      400,
      'INVALID',
      /^name: .*robot/,
    );
    expectError(
      await api('POST', '/api/v1/users', { body: { name: 'a'.repeat(65) } }),
      400,
      'INVALID',
      /^name: /,
    );
    expectError(await api('POST', '/api/v1/users', { body: { name: '-x' } }), 400, 'INVALID', /^name: /);
    expectError(await api('POST', '/api/v1/users', { body: {} }), 400, 'INVALID', /^name: /);
    expectError(
      await api('POST', '/api/v1/users', { body: { name: 'dave', password: 'short' } }),
      400,
      'INVALID',
      /^password: /,
    );
    expectError(
      await api('POST', '/api/v1/users', { body: { name: 'dave', admin: 'yes' } }),
      400,
      'INVALID',
      /^admin: /,
    );
    expectError(
      await api('POST', '/api/v1/users', { body: { name: 'dave', role: 'x' } }),
      400,
      'INVALID',
      /role/,
    );
    expectError(await api('POST', '/api/v1/users', { rawBody: '{"name":' }), 400, 'INVALID', /JSON/);
    expectError(
      await api('POST', '/api/v1/users', {
        rawBody: 'name=dave',
        contentType: 'application/x-www-form-urlencoded',
      }),
      400,
      'INVALID',
    );
    expectError(await api('POST', '/api/v1/users', { body: ['dave'] }), 400, 'INVALID');
    assert.equal(await server.metadata.access.getUser('dave'), undefined);
  });

  test('a user who is not an admin cannot manage users, but can read themself', async () => {
    expectError(await api('GET', '/api/v1/users', { as: bob }), 403, 'DENIED');
    expectError(await api('POST', '/api/v1/users', { as: bob, body: { name: 'mallory' } }), 403, 'DENIED');
    expectError(await api('GET', '/api/v1/users/carol', { as: bob }), 403, 'DENIED');
    expectError(await api('DELETE', '/api/v1/users/carol', { as: bob }), 403, 'DENIED');
    expectError(
      await api('PUT', '/api/v1/users/bob/admin', { as: bob, body: { admin: true } }),
      403,
      'DENIED',
    );
    expectError(
      await api('PUT', '/api/v1/users/carol/password', { as: bob, body: { password: 'taken-over-1' } }),
      403,
      'DENIED',
    );
    assert.equal(await server.metadata.access.getUser('mallory'), undefined);
    assert.equal((await api('GET', '/api/v1/users/bob', { as: bob })).body.name, 'bob');
  });

  test('a user changes their own password with the current one', async () => {
    const path = '/api/v1/users/bob/password';
    expectError(
      await api('PUT', path, { as: bob, body: { password: 'bob-password-2' } }),
      400,
      'INVALID',
      /currentPassword/,
    );
    expectError(
      await api('PUT', path, { as: bob, body: { password: 'bob-password-2', currentPassword: 'nope' } }),
      403,
      'DENIED',
    );
    expectError(
      await api('PUT', path, { as: bob, body: { password: 'short', currentPassword: bob.password } }),
      400,
      'INVALID',
      /^password: /,
    );
    const res = await api('PUT', path, {
      as: bob,
      body: { password: 'bob-password-2', currentPassword: bob.password },
    });
    assert.equal(res.status, 204);
    expectError(await api('GET', '/api/v1/me', { as: bob }), 401, 'UNAUTHORIZED');
    bob = { name: 'bob', password: 'bob-password-2' };
    assert.equal((await api('GET', '/api/v1/me', { as: bob })).status, 200);
  });

  test('an admin changing their OWN password gives the current one too (curl -u admin:PW -X PUT …/users/admin/password)', async () => {
    const path = '/api/v1/users/admin/password';
    expectError(
      await api('PUT', path, { body: { password: 'NewAdminPw123' } }),
      400,
      'INVALID',
      /currentPassword/,
    );
    expectError(
      await api('PUT', path, { body: { password: 'NewAdminPw123', currentPassword: 'not-it-at-all' } }),
      403,
      'DENIED',
    );
    // With an API token (a session that might be left open) the rule is the same.
    const token = await apiToken(ADMIN);
    expectError(
      await api('PUT', path, { as: `Bearer ${token}`, body: { password: 'NewAdminPw123' } }),
      400,
      'INVALID',
    );
    const row = await server.metadata.access.getUser('admin');
    assert.ok(row && (await verifySecret(ADMIN.password, row.passwordHash)), 'the password is unchanged');
    const ok = await api('PUT', path, {
      as: `Bearer ${token}`,
      body: { password: ADMIN.password, currentPassword: ADMIN.password },
    });
    assert.equal(ok.status, 204);
  });

  test("an admin sets another user's password without the current one; 404 for nobody", async () => {
    assert.equal(
      (await api('PUT', '/api/v1/users/bob/password', { body: { password: 'bob-password-3' } })).status,
      204,
    );
    expectError(await api('GET', '/api/v1/me', { as: bob }), 401, 'UNAUTHORIZED');
    bob = { name: 'bob', password: 'bob-password-3' };
    assert.equal((await api('GET', '/api/v1/me', { as: bob })).status, 200);
    expectError(
      await api('PUT', '/api/v1/users/nobody/password', { body: { password: 'whatever-1' } }),
      404,
      'NOT_FOUND',
    );
  });

  test('the admin flag: granted, used, revoked; the last admin can be neither demoted nor deleted', async () => {
    const granted = await api('PUT', '/api/v1/users/bob/admin', { body: { admin: true } });
    assert.equal(granted.status, 200);
    assert.equal(granted.body.admin, true);
    assert.equal((await api('GET', '/api/v1/users', { as: bob })).status, 200);
    assert.equal((await api('PUT', '/api/v1/users/bob/admin', { body: { admin: false } })).body.admin, false);
    expectError(await api('GET', '/api/v1/users', { as: bob }), 403, 'DENIED');
    expectError(await api('PUT', '/api/v1/users/admin/admin', { body: { admin: false } }), 409, 'CONFLICT');
    expectError(await api('DELETE', '/api/v1/users/admin'), 409, 'CONFLICT');
    expectError(await api('PUT', '/api/v1/users/nobody/admin', { body: { admin: true } }), 404, 'NOT_FOUND');
    expectError(await api('PUT', '/api/v1/users/bob/admin', { body: {} }), 400, 'INVALID', /^admin: /);
  });

  test('DELETE: 204, the login stops working at once, 404 the second time', async () => {
    const temp = await createUser('temp', 'temp-password');
    const token = await registryToken(temp, []);
    assert.equal((await api('GET', '/api/v1/me', { as: temp })).status, 200);
    assert.equal((await api('DELETE', '/api/v1/users/temp')).status, 204);
    expectError(await api('GET', '/api/v1/me', { as: temp }), 401, 'UNAUTHORIZED');
    expectError(await api('GET', '/api/v1/me', { as: `Bearer ${token}` }), 401, 'UNAUTHORIZED');
    expectError(await api('DELETE', '/api/v1/users/temp'), 404, 'NOT_FOUND');
    assert.equal(await server.metadata.access.getUser('temp'), undefined);
  });
});

describe('projects and members', () => {
  let alice: Account; // project-admin of "alpha"
  let dan: Account; // developer in "alpha"
  let erin: Account; // nobody in particular

  before(async () => {
    alice = await createUser('alice', 'alice-password');
    dan = await createUser('dan', 'dan-password');
    erin = await createUser('erin', 'erin-password');
  });

  test('POST: admins only; 201, 409, 400', async () => {
    expectError(await api('POST', '/api/v1/projects', { as: alice, body: { name: 'alpha' } }), 403, 'DENIED');
    const res = await api('POST', '/api/v1/projects', { body: { name: 'alpha' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, 'alpha');
    assert.equal(res.body.public, false);
    assert.equal((await api('POST', '/api/v1/projects', { body: { name: 'beta' } })).status, 201);
    assert.equal(
      (await api('POST', '/api/v1/projects', { body: { name: 'open', public: true } })).status,
      201,
    );
    expectError(await api('POST', '/api/v1/projects', { body: { name: 'alpha' } }), 409, 'CONFLICT');
    for (const name of ['Alpha', 'a/b', 'a..b', '', '-a', 'x'.repeat(65)]) {
      expectError(await api('POST', '/api/v1/projects', { body: { name } }), 400, 'INVALID', /^name: /);
    }
    expectError(
      await api('POST', '/api/v1/projects', { body: { name: 'gamma', public: 'yes' } }),
      400,
      'INVALID',
    );
  });

  test('members: set by an admin, the subject must exist, role and kind are checked', async () => {
    const res = await api('PUT', '/api/v1/projects/alpha/members/user/alice', {
      body: { role: 'project-admin' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { project: 'alpha', kind: 'user', subject: 'alice', role: 'project-admin' });
    expectError(
      await api('PUT', '/api/v1/projects/alpha/members/user/nobody', { body: { role: 'guest' } }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api('PUT', '/api/v1/projects/alpha/members/robot/nobody', { body: { role: 'guest' } }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api('PUT', '/api/v1/projects/nowhere/members/user/dan', { body: { role: 'guest' } }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api('PUT', '/api/v1/projects/alpha/members/user/dan', { body: { role: 'owner' } }),
      400,
      'INVALID',
      /^role: /,
    );
    expectError(
      await api('PUT', '/api/v1/projects/alpha/members/group/dan', { body: { role: 'guest' } }),
      400,
      'INVALID',
      /^kind: /,
    );
  });

  test('a project-admin manages the members of their project, and of no other', async () => {
    assert.equal(await canPush(dan, 'alpha/app'), false);
    const set = await api('PUT', '/api/v1/projects/alpha/members/user/dan', {
      as: alice,
      body: { role: 'developer' },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    // The new membership counts at once: the permission cache was dropped.
    assert.equal(await canPush(dan, 'alpha/app'), true);
    const members = await api('GET', '/api/v1/projects/alpha/members', { as: alice });
    assert.deepEqual(
      (members.body.members as { subject: string; role: string }[]).map((m) => `${m.subject}:${m.role}`),
      ['alice:project-admin', 'dan:developer'],
    );
    // A developer sees the members but may not change them.
    assert.equal((await api('GET', '/api/v1/projects/alpha/members', { as: dan })).status, 200);
    expectError(
      await api('PUT', '/api/v1/projects/alpha/members/user/erin', { as: dan, body: { role: 'guest' } }),
      403,
      'DENIED',
    );
    // Another project: a public one is visible, so the refusal is 403; a private one looks absent.
    expectError(
      await api('PUT', '/api/v1/projects/open/members/user/erin', { as: alice, body: { role: 'guest' } }),
      403,
      'DENIED',
    );
    expectError(
      await api('PUT', '/api/v1/projects/beta/members/user/erin', { as: alice, body: { role: 'guest' } }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api('DELETE', '/api/v1/projects/beta/members/user/erin', { as: alice }),
      404,
      'NOT_FOUND',
    );
    assert.deepEqual((await api('GET', '/api/v1/projects/beta/members')).body.members, []);
    // Nor may a project-admin create or delete projects.
    expectError(await api('DELETE', '/api/v1/projects/alpha', { as: alice }), 403, 'DENIED');
  });

  test('removing a member: 204, the access goes at once, 404 when not a member', async () => {
    assert.equal((await api('DELETE', '/api/v1/projects/alpha/members/user/dan', { as: alice })).status, 204);
    assert.equal(await canPush(dan, 'alpha/app'), false);
    expectError(
      await api('DELETE', '/api/v1/projects/alpha/members/user/dan', { as: alice }),
      404,
      'NOT_FOUND',
    );
    expectError(await api('GET', '/api/v1/projects/alpha/members', { as: dan }), 404, 'NOT_FOUND');
  });

  test('listing shows what the caller can see: public projects and their own, all for admins', async () => {
    const names = async (as: Account) =>
      ((await api('GET', '/api/v1/projects', { as })).body.projects as { name: string }[]).map((p) => p.name);
    assert.deepEqual(await names(ADMIN), ['alpha', 'beta', 'open']);
    assert.deepEqual(await names(alice), ['alpha', 'open']);
    assert.deepEqual(await names(erin), ['open']);
    const mine = await api('GET', '/api/v1/projects/alpha', { as: alice });
    assert.equal(mine.body.role, 'project-admin');
    expectError(await api('GET', '/api/v1/projects/alpha', { as: erin }), 404, 'NOT_FOUND');
    expectError(await api('GET', '/api/v1/projects/nowhere'), 404, 'NOT_FOUND');
    assert.equal((await api('GET', '/api/v1/projects/open', { as: erin })).body.public, true);
  });

  test('PATCH: public or private, by admins and the project-admin', async () => {
    const res = await api('PATCH', '/api/v1/projects/alpha', { as: alice, body: { public: true } });
    assert.equal(res.status, 200);
    assert.equal(res.body.public, true);
    assert.equal((await server.metadata.access.getProject('alpha'))?.public, true);
    assert.equal((await api('GET', '/api/v1/projects/alpha', { as: erin })).status, 200);
    expectError(
      await api('PATCH', '/api/v1/projects/alpha', { as: erin, body: { public: false } }),
      403,
      'DENIED',
    );
    assert.equal(
      (await api('PATCH', '/api/v1/projects/alpha', { body: { public: false } })).body.public,
      false,
    );
    expectError(await api('PATCH', '/api/v1/projects/alpha', { body: {} }), 400, 'INVALID', /^public: /);
    expectError(await api('PATCH', '/api/v1/projects/nowhere', { body: { public: true } }), 404, 'NOT_FOUND');
  });

  test('DELETE: admins only, 204, then 404', async () => {
    assert.equal((await api('POST', '/api/v1/projects', { body: { name: 'doomed' } })).status, 201);
    expectError(await api('DELETE', '/api/v1/projects/doomed', { as: erin }), 403, 'DENIED');
    assert.equal((await api('DELETE', '/api/v1/projects/doomed')).status, 204);
    expectError(await api('DELETE', '/api/v1/projects/doomed'), 404, 'NOT_FOUND');
    assert.equal(await server.metadata.access.getProject('doomed'), undefined);
  });
});

describe('robots', () => {
  let ci: Account;

  test('POST validation: permissions, globs, projects, expiry, names', async () => {
    const bad: [unknown, RegExp][] = [
      [{ name: 'ci' }, /^permissions: /],
      [{ name: 'ci', permissions: [] }, /^permissions: /],
      [{ name: 'ci', permissions: [{ repo: 'Team/*', actions: ['pull'] }] }, /^permissions\.0\.repo: /],
      [{ name: 'ci', permissions: [{ repo: 'team/***', actions: ['pull'] }] }, /^permissions\.0\.repo: /],
      [{ name: 'ci', permissions: [{ repo: 'team/*', actions: ['write'] }] }, /^permissions\.0\.actions/],
      [{ name: 'ci', permissions: [{ repo: 'team/*', actions: [] }] }, /^permissions\.0\.actions: /],
      [{ name: 'ci', projects: ['alpha'] }, /^actions: /],
      [{ name: 'ci', projects: ['nowhere'], actions: ['pull'] }, /^projects\.0: /],
      [{ name: 'ci', projects: ['a/b'], actions: ['pull'] }, /^projects\.0: /],
      [
        {
          name: 'ci',
          permissions: [{ repo: 'x', actions: ['pull'] }],
          expiresIn: 60,
          expiresAt: '2999-01-01T00:00:00Z',
        },
        /^expiresAt: /,
      ],
      [
        { name: 'ci', permissions: [{ repo: 'x', actions: ['pull'] }], expiresAt: '2001-01-01T00:00:00Z' },
        /^expiresAt: /,
      ],
      [
        { name: 'ci', permissions: [{ repo: 'x', actions: ['pull'] }], expiresAt: 'tomorrow' },
        /^expiresAt: /,
      ],
      [{ name: 'ci', permissions: [{ repo: 'x', actions: ['pull'] }], expiresIn: 0 }, /^expiresIn: /],
      [{ name: 'CI', permissions: [{ repo: 'x', actions: ['pull'] }] }, /^name: /],
      [{ name: 'robot$', permissions: [{ repo: 'x', actions: ['pull'] }] }, /^name: /],
    ];
    for (const [body, message] of bad) {
      expectError(await api('POST', '/api/v1/robots', { body }), 400, 'INVALID', message);
    }
    assert.deepEqual(await server.metadata.access.listRobots(), []);
  });

  test('POST: 201, named robot$NAME, the secret returned once and stored hashed', async () => {
    const res = await api('POST', '/api/v1/robots', {
      body: {
        name: 'ci',
        description: 'builds',
        expiresIn: 3600,
        permissions: [{ repo: 'team/*', actions: ['pull', 'push'] }],
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.name, 'robot$ci');
    assert.equal(res.body.description, 'builds');
    const expiresAt = Date.parse(res.body.expiresAt);
    // The server dates it by its clock, which only the tests move: no slack for a slow machine is needed.
    assert.ok(Math.abs(expiresAt - (clock.now() + 3600_000)) < 1000, res.body.expiresAt);
    const secret = res.body.secret as string;
    assert.ok(secret.length >= 32);
    ci = { name: 'robot$ci', password: secret };
    const row = await server.metadata.access.getRobot('robot$ci');
    assert.ok(row && (await verifySecret(secret, row.secretHash)));
    assert.ok(!row.secretHash.includes(secret));
    assert.equal(row.createdBy, 'admin');
    for (const path of [
      '/api/v1/robots',
      '/api/v1/robots/robot$ci',
      '/api/v1/robots/robot%24ci',
      '/api/v1/robots/ci',
    ]) {
      const got = await api('GET', path);
      assert.equal(got.status, 200, path);
      const text = JSON.stringify(got.body);
      assert.ok(!text.includes(secret) && !text.includes('scrypt') && !text.includes('"secret"'), text);
      assert.ok(text.includes('robot$ci'));
    }
    expectError(
      await api('POST', '/api/v1/robots', {
        body: { name: 'robot$ci', permissions: [{ repo: 'x', actions: ['pull'] }] },
      }),
      409,
      'CONFLICT',
    );
  });

  test('a robot logs in at /token and pushes where its permissions allow, nowhere else', async () => {
    assert.deepEqual((await api('GET', '/api/v1/me', { as: ci })).body, {
      name: 'robot$ci',
      kind: 'robot',
      admin: false,
    });
    assert.equal(await canPush(ci, 'team/app'), true);
    assert.equal(await canPush(ci, 'team/app/deeper'), false, '"*" stays within one segment');
    assert.equal(await canPush(ci, 'other/app'), false);
    // A token for one repository does not open another.
    const token = await registryToken(ci, ['repository:team/app:pull,push']);
    assert.equal(await pushBlob(token as string, 'other/app'), 403);
  });

  test('a robot is not an admin of anything', async () => {
    expectError(await api('GET', '/api/v1/users', { as: ci }), 403, 'DENIED');
    expectError(await api('GET', '/api/v1/robots', { as: ci }), 403, 'DENIED');
    expectError(await api('POST', '/api/v1/projects', { as: ci, body: { name: 'robots' } }), 403, 'DENIED');
    expectError(await api('GET', '/api/v1/audit', { as: ci }), 403, 'DENIED');
  });

  test('projects as shorthand: P is P/** with the actions of the request', async () => {
    const res = await api('POST', '/api/v1/robots', {
      body: { name: 'reader', projects: ['alpha'], actions: ['pull'] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.permissions, [{ repo: 'alpha/**', actions: ['pull'] }]);
    assert.equal(res.body.expiresAt, null);
    const reader = { name: 'robot$reader', password: res.body.secret as string };
    const token = await registryToken(reader, ['repository:alpha/deep/app:pull,push']);
    const claims = JSON.parse(Buffer.from((token as string).split('.')[1] as string, 'base64url').toString());
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'alpha/deep/app', actions: ['pull'] }]);
    assert.equal(await canPush(reader, 'alpha/app'), false);
    // Its projects are the ones it can see.
    const seen = await api('GET', '/api/v1/projects', { as: reader });
    assert.deepEqual(
      (seen.body.projects as { name: string }[]).map((p) => p.name),
      ['alpha', 'open'],
    );
  });

  test('a robot can be a project member: PUT …/members/robot/NAME, with or without robot$', async () => {
    const res = await api('PUT', '/api/v1/projects/beta/members/robot/robot%24reader', {
      body: { role: 'developer' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.subject, 'robot$reader');
    assert.equal((await api('DELETE', '/api/v1/projects/beta/members/robot/reader')).status, 204);
  });

  test('DELETE revokes: /token refuses the secret, a token issued before stops working', async () => {
    const token = await registryToken(ci, ['repository:team/app:pull,push']);
    assert.equal(await pushBlob(token as string, 'team/app'), 201);
    expectError(
      await api('DELETE', '/api/v1/robots/robot$ci', { as: { name: 'bob', password: 'bob-password-3' } }),
      403,
      'DENIED',
    );
    assert.equal((await api('DELETE', '/api/v1/robots/robot$ci')).status, 204);
    assert.equal(await registryToken(ci, ['repository:team/app:pull,push']), undefined);
    assert.equal(await pushBlob(token as string, 'team/app'), 401);
    expectError(await api('GET', '/api/v1/robots/ci'), 404, 'NOT_FOUND');
    expectError(await api('DELETE', '/api/v1/robots/ci'), 404, 'NOT_FOUND');
    assert.equal(await server.metadata.access.getRobot('robot$ci'), undefined);
  });

  test('an expired robot can log in no more, even just after a successful login', async () => {
    const res = await api('POST', '/api/v1/robots', {
      body: { name: 'brief', expiresIn: 8, permissions: [{ repo: 'team/*', actions: ['pull', 'push'] }] },
    });
    assert.equal(res.status, 201);
    const brief = { name: 'robot$brief', password: res.body.secret as string };
    const token = await registryToken(brief, ['repository:team/app:pull,push']);
    assert.ok(token);
    assert.equal(await pushBlob(token, 'team/app'), 201);
    assert.equal((await api('GET', '/api/v1/robots/brief')).body.expired, false);
    clock.set(Date.parse(res.body.expiresAt as string));
    assert.equal(await registryToken(brief, ['repository:team/app:pull,push']), undefined);
    assert.equal(await pushBlob(token, 'team/app'), 401);
    expectError(await api('GET', '/api/v1/me', { as: brief }), 401, 'UNAUTHORIZED');
    assert.equal((await api('GET', '/api/v1/robots/brief')).body.expired, true);
  });
});

describe('roles', () => {
  let frank: Account;
  before(async () => {
    frank = await createUser('frank', 'frank-password');
  });

  test('PUT creates (201) and replaces (200) a role in the roles-file form', async () => {
    const created = await api('PUT', '/api/v1/roles/builders', {
      body: { policies: [{ repo: 'build/*', actions: ['pull'] }] },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.policies, [{ repo: 'build/*', actions: ['pull'] }]);
    assert.deepEqual(created.body.bindings, []);
    const replaced = await api('PUT', '/api/v1/roles/builders', {
      body: { name: 'builders', policies: [{ repo: 'build/**', actions: ['pull', 'push'] }] },
    });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.body.policies, [{ repo: 'build/**', actions: ['pull', 'push'] }]);
  });

  test('PUT refuses bad globs, actions, names and a name that differs from the path', async () => {
    const put = (name: string, body: unknown) => api('PUT', `/api/v1/roles/${name}`, { body });
    expectError(
      await put('x', { policies: [{ repo: 'A/*', actions: ['pull'] }] }),
      400,
      'INVALID',
      /^policies\.0\.repo: /,
    );
    expectError(
      await put('x', { policies: [{ repo: 'a/*', actions: ['all'] }] }),
      400,
      'INVALID',
      /^policies\.0\.actions/,
    );
    expectError(await put('x', { policies: [{ repo: 'a/*', actions: ['pull'], extra: 1 }] }), 400, 'INVALID');
    expectError(await put('x', {}), 400, 'INVALID', /^policies: /);
    expectError(await put('Bad', { policies: [] }), 400, 'INVALID', /^name: /);
    expectError(await put('x', { name: 'y', policies: [] }), 400, 'INVALID', /^name: /);
    expectError(await api('GET', '/api/v1/roles/x'), 404, 'NOT_FOUND');
  });

  test('bindings give the role to users and robots, at once; unbinding takes it away', async () => {
    assert.equal(await canPush(frank, 'build/app'), false);
    const bound = await api('PUT', '/api/v1/roles/builders/bindings/user/frank');
    assert.equal(bound.status, 200);
    assert.deepEqual(bound.body, { role: 'builders', kind: 'user', subject: 'frank' });
    assert.equal(await canPush(frank, 'build/app'), true);
    assert.equal(await canPush(frank, 'build/a/b'), true, '"**" crosses segments');
    assert.equal(await canPush(frank, 'other/app'), false);
    const robot = await api('POST', '/api/v1/robots', {
      body: { name: 'builder', permissions: [{ repo: 'none', actions: ['pull'] }] },
    });
    assert.equal((await api('PUT', '/api/v1/roles/builders/bindings/robot/builder')).status, 200);
    assert.equal(await canPush({ name: 'robot$builder', password: robot.body.secret }, 'build/app'), true);
    const role = await api('GET', '/api/v1/roles/builders');
    assert.deepEqual(role.body.bindings, [
      { kind: 'robot', subject: 'robot$builder' },
      { kind: 'user', subject: 'frank' },
    ]);
    expectError(await api('PUT', '/api/v1/roles/builders/bindings/user/nobody'), 404, 'NOT_FOUND');
    expectError(await api('PUT', '/api/v1/roles/nothing/bindings/user/frank'), 404, 'NOT_FOUND');
    expectError(await api('PUT', '/api/v1/roles/builders/bindings/team/frank'), 400, 'INVALID', /^kind: /);
    assert.equal((await api('DELETE', '/api/v1/roles/builders/bindings/user/frank')).status, 204);
    assert.equal(await canPush(frank, 'build/app'), false);
    expectError(await api('DELETE', '/api/v1/roles/builders/bindings/user/frank'), 404, 'NOT_FOUND');
  });

  test('non-admins cannot read or change roles', async () => {
    expectError(await api('GET', '/api/v1/roles', { as: frank }), 403, 'DENIED');
    expectError(await api('GET', '/api/v1/roles/builders', { as: frank }), 403, 'DENIED');
    expectError(
      await api('PUT', '/api/v1/roles/mine', {
        as: frank,
        body: { policies: [{ repo: '**', actions: ['push'] }] },
      }),
      403,
      'DENIED',
    );
    expectError(await api('PUT', '/api/v1/roles/builders/bindings/user/frank', { as: frank }), 403, 'DENIED');
    expectError(await api('DELETE', '/api/v1/roles/builders', { as: frank }), 403, 'DENIED');
    assert.equal(await server.metadata.access.getRole('mine'), undefined);
  });

  test('list and DELETE', async () => {
    const list = await api('GET', '/api/v1/roles');
    assert.deepEqual(
      (list.body.roles as { name: string }[]).map((r) => r.name),
      ['builders'],
    );
    assert.equal((await api('DELETE', '/api/v1/roles/builders')).status, 204);
    expectError(await api('DELETE', '/api/v1/roles/builders'), 404, 'NOT_FOUND');
    assert.deepEqual((await api('GET', '/api/v1/roles')).body.roles, []);
  });
});

describe('audit', () => {
  test('every change left its event, with the actor and the source address', async () => {
    const res = await api('GET', '/api/v1/audit?limit=1000');
    assert.equal(res.status, 200);
    const events = res.body.events as {
      id: number;
      event: string;
      actor: string;
      source?: string;
      at: string;
    }[];
    const names = new Set(events.map((e) => e.event));
    for (const name of [
      'user.created',
      'user.deleted',
      'user.password_changed',
      'robot.created',
      'robot.revoked',
      'project.created',
      'project.deleted',
      'member.set',
      'member.removed',
      'role.put',
      'role.deleted',
      'role.bound',
      'role.unbound',
      'access.denied',
      'login.failed',
    ]) {
      assert.ok(names.has(name), `missing ${name}`);
    }
    const memberSet = events.find((e) => e.event === 'member.set' && e.actor === 'alice');
    assert.ok(memberSet, 'a project-admin is the actor of their change');
    assert.equal(memberSet.source, '127.0.0.1');
    assert.ok(
      events.every((e, i) => i === 0 || (events[i - 1] as { id: number }).id > e.id),
      'newest first',
    );
    assert.equal(res.body.next, undefined);
  });

  test('paging with limit, next and before; filtering by actor', async () => {
    const first = await api('GET', '/api/v1/audit?limit=3');
    assert.equal(first.body.events.length, 3);
    assert.equal(first.body.next, first.body.events[2].id);
    const second = await api('GET', `/api/v1/audit?limit=3&before=${first.body.next}`);
    assert.equal(second.body.events.length, 3);
    assert.ok(second.body.events[0].id < first.body.next);
    const alice = await api('GET', '/api/v1/audit?actor=alice&limit=1000');
    assert.ok(alice.body.events.length > 0);
    assert.ok(alice.body.events.every((e: { actor: string }) => e.actor === 'alice'));
  });

  test('bad queries are 400, non-admins 403', async () => {
    expectError(await api('GET', '/api/v1/audit?limit=0'), 400, 'INVALID', /^limit: /);
    expectError(await api('GET', '/api/v1/audit?limit=x'), 400, 'INVALID', /^limit: /);
    expectError(await api('GET', '/api/v1/audit?before=-1'), 400, 'INVALID', /^before: /);
    expectError(
      await api('GET', '/api/v1/audit', { as: { name: 'erin', password: 'erin-password' } }),
      403,
      'DENIED',
    );
  });
});

describe('with auth: none', () => {
  test('the admin API is not there: 404', async () => {
    const data = await tempDir({ after }, 'berth-admin-none-');
    const open = await startTestServer({ data });
    try {
      const res = await fetch(new URL('/api/v1/me', open.url));
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    } finally {
      await open.close();
    }
  });
});

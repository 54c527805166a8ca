// /healthz and /readyz in the access matrix: every caller and credential kind gets the same answer, the routes
// read no credentials (a wrong password sent there is not a login attempt, so it can lock nobody out), and
// they name no user, repository or setting.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { type Account, addUser, basic, getToken } from '../support/access-fixtures.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let user: Account;
const credentials: Record<string, () => Promise<Record<string, string>>> = {};

before(async () => {
  server = await startTestServer({
    data: await tempDir(fileScope()),
    config: { 'auth.mode': 'token', 'auth.loginAttempts': 5 },
  });
  user = await addUser(server, 'health-user', 'pw-health-user');
  const registryToken = await getToken(server.url, user, ['repository:health-user/app:pull']);
  credentials.none = async () => ({});
  credentials['basic, right password'] = async () => ({ authorization: basic(user) });
  credentials['basic, wrong password'] = async () => ({
    authorization: basic({ ...user, password: 'wrong' }),
  });
  credentials['basic, unknown user'] = async () => ({
    authorization: basic({ name: 'nobody', password: 'x' }),
  });
  credentials['bearer, registry token'] = async () => ({ authorization: `Bearer ${registryToken}` });
  credentials['bearer, garbage'] = async () => ({ authorization: 'Bearer not.a.token' });
  credentials['malformed header'] = async () => ({ authorization: 'Basic %%%' });
});

after(() => server?.close());

for (const [path, body] of [
  ['/healthz', { status: 'ok' }],
  ['/readyz', { status: 'ready' }],
] as const) {
  test(`${path}: the same 200 for every caller and credential kind, naming nothing`, async () => {
    for (const [kind, headers] of Object.entries(credentials)) {
      const res = await fetch(`${server.url}${path}`, { headers: await headers() });
      assert.equal(res.status, 200, `${path} with ${kind}`);
      assert.equal(res.headers.get('www-authenticate'), null, `${path} with ${kind}`);
      assert.deepEqual(await res.json(), body, `${path} with ${kind}`);
    }
  });
}

test('wrong passwords sent to the health routes are not login attempts: the user still logs in', async () => {
  const wrong = { authorization: basic({ ...user, password: 'wrong' }) };
  for (let i = 0; i < 20; i++) {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${server.url}${path}`, { headers: wrong });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  }
  await getToken(server.url, user, ['repository:health-user/app:pull']);
});

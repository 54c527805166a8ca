// A token's grants end with the account's (issue 9, point 8): before, a registry token kept what it granted for
// up to 300 s after a membership was removed. Every change of what an account may do raises its grants
// version; a token carries the version it was issued under and is refused (401 invalid_token) once it moved,
// so the client asks for a new token, which grants what the account may do now. Real server, real SQLite.
//
// Reproduction: T=$(curl -u dev:PW "$R/token?service=berth-registry&scope=repository:team/app:pull,push" | jq -r .token)
//   curl -u admin:PW -X DELETE $R/api/v1/projects/team/members/user/dev
//   curl -H "Authorization: Bearer $T" -X POST $R/v2/team/app/blobs/uploads/      # was 202, now 401
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  addMember,
  addProject,
  addRobot,
  addUser,
  auditRows,
  basic,
  bootstrapAdmin,
  getToken,
  parseChallenge,
  SERVICE,
} from '../support/access-fixtures.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

describe('grants version', { concurrency: 1 }, () => {
  let server: RunningServer;
  let admin: Account;

  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  before(async () => {
    const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-grants-');
    server = await startTestServer({ data, config: { 'auth.mode': 'token' } });
    cleanups.push(() => server.close());
    admin = bootstrapAdmin(server);
    await addProject(server, 'team', false);
  });

  /** POST /v2/team/app/blobs/uploads/ with a bearer token: the status and the challenge's error. */
  const startUpload = async (token: string) => {
    const res = await fetch(`${server.url}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate');
    return { status: res.status, error: challenge ? parseChallenge(challenge).error : undefined };
  };
  const admin_ = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: basic(admin),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const PUSH = ['repository:team/app:pull,push'];

  test('removing a member retires its token at once; a new token grants what is left', async () => {
    const dev = await addUser(server, 'dev', 'dev-password');
    await addMember(server, 'team', dev, 'developer');
    const token = await getToken(server.url, dev, PUSH);
    assert.equal((await startUpload(token)).status, 202);

    assert.equal((await admin_('DELETE', '/projects/team/members/user/dev')).status, 204);
    assert.deepEqual(await startUpload(token), { status: 401, error: 'invalid_token' });
    const fresh = await getToken(server.url, dev, PUSH);
    assert.equal((await startUpload(fresh)).status, 403);
  });

  test('a role change (developer to guest) retires the token; a token for a robot member too', async () => {
    const eve = await addUser(server, 'eve', 'eve-password');
    await addMember(server, 'team', eve, 'developer');
    const robot = await addRobot(server, 'robot$member', []);
    await addMember(server, 'team', robot, 'developer');
    const eveToken = await getToken(server.url, eve, PUSH);
    const robotToken = await getToken(server.url, robot, PUSH);
    assert.equal((await startUpload(eveToken)).status, 202);
    assert.equal((await startUpload(robotToken)).status, 202);

    const put = await admin_('PUT', '/projects/team/members/user/eve', { role: 'guest' });
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(await startUpload(eveToken), { status: 401, error: 'invalid_token' });
    // Another account's change leaves the robot's token alone.
    assert.equal((await startUpload(robotToken)).status, 202);
    assert.equal((await admin_('DELETE', '/projects/team/members/robot/member')).status, 204);
    assert.deepEqual(await startUpload(robotToken), { status: 401, error: 'invalid_token' });
  });

  test('a policy role unbound or its policies narrowed retires the tokens of those bound to it', async () => {
    const frank = await addUser(server, 'frank', 'frank-password');
    const gina = await addUser(server, 'gina', 'gina-password');
    const role = await admin_('PUT', '/roles/pushers', {
      policies: [{ repo: 'team/*', actions: ['pull', 'push'] }],
    });
    assert.equal(role.status, 201, await role.text());
    for (const name of ['frank', 'gina'])
      assert.equal((await admin_('PUT', `/roles/pushers/bindings/user/${name}`)).status, 200);
    const frankToken = await getToken(server.url, frank, PUSH);
    const ginaToken = await getToken(server.url, gina, PUSH);
    assert.equal((await startUpload(frankToken)).status, 202);
    assert.equal((await startUpload(ginaToken)).status, 202);

    assert.equal((await admin_('DELETE', '/roles/pushers/bindings/user/frank')).status, 204);
    assert.deepEqual(await startUpload(frankToken), { status: 401, error: 'invalid_token' });
    assert.equal((await startUpload(ginaToken)).status, 202);
    const narrowed = await admin_('PUT', '/roles/pushers', {
      policies: [{ repo: 'team/*', actions: ['pull'] }],
    });
    assert.equal(narrowed.status, 200, await narrowed.text());
    assert.deepEqual(await startUpload(ginaToken), { status: 401, error: 'invalid_token' });
  });

  test('an admin demoted: the token issued while admin is refused', async () => {
    const res = await admin_('POST', '/users', { name: 'boss', password: 'boss-password', admin: true });
    assert.equal(res.status, 201);
    const boss = { name: 'boss', password: 'boss-password' };
    const token = await getToken(server.url, boss, PUSH);
    assert.equal((await startUpload(token)).status, 202);
    assert.equal((await admin_('PUT', '/users/boss/admin', { admin: false })).status, 200);
    assert.deepEqual(await startUpload(token), { status: 401, error: 'invalid_token' });
    assert.equal((await startUpload(await getToken(server.url, boss, PUSH))).status, 403);
  });

  test('tokens of accounts whose grants did not change keep working; the version is in the token', async () => {
    const stable = await addUser(server, 'stable', 'stable-password');
    await addMember(server, 'team', stable, 'developer');
    const token = await getToken(server.url, stable, PUSH);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
      gv: number;
      aud: string;
    };
    assert.equal(payload.aud, SERVICE);
    assert.equal(payload.gv, (await server.metadata.access.getUser('stable'))?.grantsVersion);
    await addUser(server, 'someone-else', 'someone-password');
    assert.equal((await admin_('DELETE', '/projects/team/members/user/frank')).status, 404);
    assert.equal((await startUpload(token)).status, 202);
    // A refusal because of a changed grant is not audited as a denial: the client is told to get a new token.
    const rows = await auditRows(server, 'stable');
    assert.ok(rows.every((r) => r.event !== 'access.denied'));
  });
});

// `berth repos [SERVER] [--json]` against a real Berth with access checks on (issue 17: listing repositories
// needed `curl …/v2/_catalog`, which answers an anonymous caller with an empty list): the catalog page by
// page, what the caller may pull, and the server of the last `berth login` by default.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ClientSession } from '../../src/client/client-session.js';
import { verifyCredentials } from '../../src/client/registry-login.js';
import type { RunningServer } from '../../src/main/server.js';
import { type Account, AuthorizedClient, addRobot, basic } from '../support/access-fixtures.js';
import { makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import { assertOk, type BerthEnv, berth, berthEnv, describeRun } from './importer-fixtures.js';

const ADMIN = { name: 'admin', password: 'admin-password-1' } satisfies Account;
const REPOS = ['team-a/app', 'team-a/web', 'team-b/db'];

// Made here, not in `before`: an `after` registered inside a hook runs when that hook ends.
const work = await tempDir({ after }, 'berth-repos-');
let server: RunningServer;
let envs = 0;

const freshEnv = (): Promise<BerthEnv> => berthEnv(join(work, `env-${++envs}`), { PATH: join(work, 'none') });

before(async () => {
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN.password,
  });
  const client = new AuthorizedClient(server.url, basic(ADMIN));
  for (const repo of REPOS) await client.pushImage(repo, 'v1', makeImage({ layers: [512] }));
});
after(() => server.close());

test('berth repos HOST: every repository the caller may pull, one a line; --json', async () => {
  const be = await freshEnv();
  const all = assertOk(await berth(be, ['repos', server.hostPort, '--creds', `admin:${ADMIN.password}`]));
  assert.equal(all.stdout, `${REPOS.join('\n')}\n`);
  const robot = await addRobot(server, 'robot$reader', [{ repo: 'team-a/*', actions: ['pull'] }]);
  const limited = assertOk(
    await berth(be, ['repos', server.hostPort, '--json', '--creds', `${robot.name}:${robot.password}`]),
  );
  assert.deepEqual(JSON.parse(limited.stdout), {
    server: server.hostPort,
    repositories: ['team-a/app', 'team-a/web'],
  });
});

test('anonymous: an empty list, and a note on stderr saying to log in', async () => {
  const r = assertOk(await berth(await freshEnv(), ['repos', server.hostPort]));
  assert.equal(r.stdout, '', describeRun(r));
  assert.match(r.stderr, new RegExp(`berth login ${server.hostPort}`), describeRun(r));
});

test('without SERVER: the Berth of the last berth login', async () => {
  const be = await freshEnv();
  assertOk(
    await berth(be, ['login', server.hostPort, '-u', 'admin', '--password-stdin'], { input: ADMIN.password }),
  );
  const r = assertOk(await berth(be, ['repos']));
  assert.equal(r.stdout, `${REPOS.join('\n')}\n`);
});

test('the client follows the Link header page by page (n=1)', async () => {
  const be = await freshEnv();
  const session = await ClientSession.create({
    env: be.env,
    creds: new Map([[server.hostPort, { username: ADMIN.name, password: ADMIN.password }]]),
  });
  try {
    // As `berth repos` does with a login: the ping meets the challenge, later requests carry a token.
    await verifyCredentials(session, server.hostPort);
    assert.deepEqual(await session.registry.listRepositories(server.hostPort, 1), REPOS);
  } finally {
    await session.close();
  }
});

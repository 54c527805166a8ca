// The CLI finds its server (issue 17): `berth login 127.0.0.1:5400`, then `berth user list` went to
// 127.0.0.1:5000. The server of the last login to a Berth is remembered in the user's config folder and used by
// the admin commands; --server and BERTH_SERVER still win. Its own file, apart from test/admin/admin-cli.test.ts,
// which is long already.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import { assertOk, assertOneLineFailure, type BerthEnv, berth, berthEnv } from './importer-fixtures.js';

const ADMIN_PASSWORD = 'admin-password-1';

// Made here, not in `before`: an `after` registered inside a hook runs when that hook ends.
const work = await tempDir({ after }, 'berth-remembered-server-');
let server: RunningServer;
let envs = 0;

const freshEnv = (): Promise<BerthEnv> => berthEnv(join(work, `env-${++envs}`), { PATH: join(work, 'none') });

before(async () => {
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN_PASSWORD,
  });
});
after(() => server.close());

test('after berth login HOST:PORT, admin commands go there without --server; --server and BERTH_SERVER still win', async () => {
  const be = await freshEnv();
  assertOk(
    await berth(be, ['login', server.hostPort, '-u', 'admin', '--password-stdin'], { input: ADMIN_PASSWORD }),
  );
  const file = join(be.env.XDG_CONFIG_HOME as string, 'berth', 'server.json');
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { server: server.hostPort });
  const r = assertOk(await berth(be, ['user', 'list']));
  assert.match(r.stdout, /^admin\s+yes/m);
  // Nothing listens on port 1: the server used is the one named, not the remembered one.
  assertOneLineFailure(await berth(be, ['user', 'list', '--server', '127.0.0.1:1']), /127\.0\.0\.1:1/);
  assertOneLineFailure(
    await berth(be, ['user', 'list'], { env: { BERTH_SERVER: '127.0.0.1:1' } }),
    /127\.0\.0\.1:1/,
  );
});

test('a damaged remembered server is one line naming the file, not a silent fall back', async () => {
  const be = await freshEnv();
  const file = join(be.env.XDG_CONFIG_HOME as string, 'berth', 'server.json');
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, '{"server":"http://evil.example/x"}');
  assertOneLineFailure(await berth(be, ['user', 'list']), /server\.json is damaged/, /--server/);
});

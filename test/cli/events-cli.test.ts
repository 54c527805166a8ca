// `berth events` as a child process against a real Berth: history with filters and --since, --json lines,
// --follow printing a push made after it started, and bad flags as one line with a non-zero exit.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseFilters, parseSince } from '../../src/client/event-log.js';
import type { RunningServer } from '../../src/main/server.js';
import {
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  spawnBerth,
} from '../importer/importer-fixtures.js';
import { AuthorizedClient, basic } from '../support/access-fixtures.js';
import { makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN_PASSWORD = 'admin-password-ev';
let server: RunningServer;
let env: BerthEnv;
let pusher: AuthorizedClient;

const login = (): string[] => ['--server', server.url, '-u', 'admin', '--password-stdin'];

before(async () => {
  const work = await tempDir(fileScope(), 'berth-events-cli-');
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN_PASSWORD,
  });
  env = await berthEnv(join(work, 'env'), { PATH: join(work, 'no-helpers') });
  pusher = new AuthorizedClient(server.url, basic({ name: 'admin', password: ADMIN_PASSWORD }));
  await pusher.pushImage('team/app', 'v1', makeImage());
  await pusher.pushImage('tools/lint', 'v1', makeImage());
});
after(() => server?.close());

test('--filter and --since parse into the API query; bad ones are usage errors', () => {
  assert.deepEqual(parseFilters(['event=push,delete', 'repository=team/*']), {
    types: ['push', 'delete'],
    repository: 'team/*',
  });
  const now = Date.UTC(2026, 0, 2);
  assert.equal(parseSince('1h', now), now - 3_600_000);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('2026-01-01T00:00:00Z', now), Date.UTC(2026, 0, 1));
  assert.throws(() => parseSince('yesterday', now), { code: 'USAGE' });
  assert.throws(() => parseFilters(['colour=red']), { code: 'USAGE' });
  assert.throws(() => parseFilters(['event']), { code: 'USAGE' });
});

test('berth events prints the history; filters narrow it; --json prints one object per line', async () => {
  const all = assertOk(await berth(env, ['events', ...login()], { input: ADMIN_PASSWORD }));
  assert.match(all.stdout, /push\s+team\/app:v1 sha256:[0-9a-f]{64} by admin/);
  assert.match(all.stdout, /push\s+tools\/lint:v1/);
  const team = assertOk(
    await berth(env, ['events', '--filter', 'repository=team/*', '--since', '1h', '--json', ...login()], {
      input: ADMIN_PASSWORD,
    }),
  );
  const lines = team.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { repository: string; type: string });
  assert.deepEqual(
    lines.map((e) => [e.type, e.repository]),
    [['push', 'team/app']],
  );
});

test('an unknown event type is refused by the server: one line, non-zero exit', async () => {
  const r = await berth(env, ['events', '--filter', 'event=explosion', ...login()], {
    input: ADMIN_PASSWORD,
  });
  assertOneLineFailure(r, /type/);
});

test('berth events --follow prints the history, then a push made after it started', async () => {
  const run = spawnBerth(env, ['events', '--follow', '--since', '1h', '--filter', 'event=push', ...login()], {
    input: ADMIN_PASSWORD,
  });
  let stdout = '';
  run.child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const waitFor = async (text: string): Promise<void> => {
    while (!stdout.includes(text)) {
      if (run.child.exitCode !== null) assert.fail(`berth events --follow ended: ${run.stderr()}`);
      // Checked and registered in one turn: no chunk can arrive in between.
      await new Promise((resolve) => {
        run.child.stdout?.once('data', resolve);
        run.child.once('exit', resolve);
      });
    }
  };
  try {
    // The history is printed: the follower is past its listing, and follows from the last id it saw.
    await waitFor('tools/lint:v1');
    await pusher.pushImage('team/followed', 'live', makeImage());
    await waitFor('team/followed:live');
  } finally {
    run.child.kill('SIGTERM');
    await run.done;
  }
});

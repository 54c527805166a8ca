// `GET /api/v1/report` (issue 13, `berth report`): the quarterly health check from the server's own rows, after
// real pushes, pulls and a refused push, with the server's clock moved by hand (no sleeping).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../../src/clock/clock.js';
import type { HealthReport } from '../../src/events/health-report.js';
import type { RunningServer } from '../../src/main/server.js';
import {
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  type CliResult,
} from '../importer/importer-fixtures.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addUser,
  basic,
} from '../support/access-fixtures.js';
import { makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const DAY = 86_400_000;
// The metadata store stamps blobs, manifests and tags with the system time (not the server's clock), so the
// clock starts at the real now: pushes and tags are "now" to the store, events, audit rows and pulls follow the clock.
const clock = new ManualClock(Date.now());
const scope = fileScope();
const ADMIN_PASSWORD = 'admin-password-1';
// The report's queries (day buckets, grouping) run on PostgreSQL too when a server is given.
const postgresUrl = process.env.BERTH_TEST_POSTGRES_URL;

async function freshPostgresDatabase(url: string): Promise<string> {
  const name = `berth_report_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  return dbUrl.toString();
}
let server: RunningServer;
let env: BerthEnv;
let admin: Account;
let padmin: Account;
let dev: Account;

async function report(account: Account, query = ''): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`${server.url}/api/v1/report${query}`, {
    headers: { authorization: basic(account) },
  });
  return { status: res.status, body: (await res.json()) as HealthReport };
}

before(async () => {
  const work = await tempDir(scope, 'berth-report-');
  server = await startTestServer({
    data: join(work, 'data'),
    clock,
    config: {
      'auth.mode': 'token',
      ...(postgresUrl ? { 'metadata.postgres.url': await freshPostgresDatabase(postgresUrl) } : {}),
    },
    adminPassword: ADMIN_PASSWORD,
  });
  env = await berthEnv(join(work, 'env'), { PATH: join(work, 'no-helpers') });
  admin = { name: 'admin', password: ADMIN_PASSWORD };
  await addProject(server, 'team', false);
  await addProject(server, 'other', false);
  padmin = await addUser(server, 'padmin', 'pw-padmin');
  dev = await addUser(server, 'dev', 'pw-dev');
  await addMember(server, 'team', padmin, 'project-admin');
  await addMember(server, 'team', dev, 'developer');
});
after(() => server?.close());

describe('the health report from real pushes and pulls', { concurrency: 1 }, () => {
  const old = makeImage({ layers: [1000] });
  const other = makeImage({ layers: [3000] });
  const big = makeImage({ layers: [20_000, 5000] });

  before(async () => {
    const client = new AuthorizedClient(server.url, basic(admin));
    // Two images nobody pulls afterwards.
    await client.pushImage('team/old', 'v1', old);
    await client.pushImage('other/app', 'v1', other);
    // 100 days on: a bigger image, pulled three times; dev's push into a project not theirs is refused.
    clock.advance(100 * DAY);
    await client.pushImage('team/app', 'v1', big);
    for (let i = 0; i < 3; i++) {
      const pull = await client.request('GET', '/v2/team/app/manifests/v1', {
        headers: { accept: big.mediaType },
      });
      assert.equal(pull.status, 200);
      await pull.arrayBuffer();
    }
    const refused = await new AuthorizedClient(server.url, basic(dev)).request(
      'POST',
      '/v2/other/app/blobs/uploads/',
    );
    assert.equal(refused.status, 403);
    await server.pullLog.flush();
    await server.pullEvents?.flush();
  });

  test('the whole registry, for a system admin', async () => {
    const { status, body } = await report(admin, '?months=6');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.generatedAt, new Date(clock.now()).toISOString());
    assert.equal(body.project, null);
    assert.deepEqual(
      body.topBySize.map((r) => r.repository),
      ['team/app', 'other/app', 'team/old'],
    );
    assert.ok((body.topBySize[0]?.bytes ?? 0) > 25_000);
    assert.deepEqual(body.pulls, { available: true, total: 3, top: [{ repository: 'team/app', pulls: 3 }] });
    // The first two images were neither pushed nor pulled in 90 days (oldest first); team/app was pulled today.
    assert.deepEqual(
      body.stale.tags.map((t) => [t.repository, t.tag, t.lastPulledAt]),
      [
        ['team/old', 'v1', null],
        ['other/app', 'v1', null],
      ],
    );
    assert.equal(body.stale.count, 2);
    // Pushes in the last 90 days: team/app's; the refused one is dev's into other/app.
    assert.equal(body.pushes.succeeded, 1);
    assert.equal(body.pushes.refused, 1);
    assert.deepEqual(body.pushes.byRepository, [{ repository: 'other/app', succeeded: 0, refused: 1 }]);
    // Storage: six calendar months ending with the clock's; every blob (three configs, four layers) was stored within them.
    assert.equal(body.storage.months.length, 6);
    assert.equal(body.storage.months.at(-1)?.month, new Date(clock.now()).toISOString().slice(0, 7));
    assert.equal(
      body.storage.months.reduce((n, m) => n + m.addedBytes, 0),
      body.storage.totalBytes,
    );
    assert.equal(body.storage.months.at(-1)?.totalBytes, body.storage.totalBytes);
    assert.ok(body.storage.totalBytes > 29_000 && body.storage.blobs === 7);
    assert.equal(body.vulnerabilities.available, false);
  });

  test("one project, for that project's admin; the whole registry is refused to them", async () => {
    const { status, body } = await report(padmin, '?project=team');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.project, 'team');
    assert.deepEqual(
      body.topBySize.map((r) => r.repository),
      ['team/app', 'team/old'],
    );
    assert.deepEqual(
      body.stale.tags.map((t) => t.repository),
      ['team/old'],
    );
    assert.equal(body.pushes.refused, 0);
    assert.equal((await report(padmin)).status, 403);
    assert.equal((await report(dev, '?project=team')).status, 403);
  });

  test('a pull recorded long after the push takes the tag off the stale list', async () => {
    const client = new AuthorizedClient(server.url, basic(admin));
    const pull = await client.request('GET', '/v2/team/old/manifests/v1', {
      headers: { accept: old.mediaType },
    });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    await server.pullLog.flush();
    await server.pullEvents?.flush();
    const { body } = await report(admin);
    assert.deepEqual(
      body.stale.tags.map((t) => t.repository),
      ['other/app'],
    );
    assert.equal(body.pulls.available && body.pulls.total, 4);
  });

  test('bad query values are refused', async () => {
    assert.equal((await report(admin, '?days=0')).status, 400);
    assert.equal((await report(admin, '?project=a/b')).status, 400);
    assert.equal((await report(admin, '?unknown=1')).status, 400);
  });
});

describe('berth report', { concurrency: 1 }, () => {
  const run = (args: string[], account: Account = admin): Promise<CliResult> =>
    berth(env, ['report', ...args, '--server', server.url, '-u', account.name, '--password-stdin'], {
      input: account.password,
    });

  test('prints sections with bar charts, and says plainly that scan data is not available', async () => {
    const { stdout } = assertOk(await run([]));
    assert.match(stdout, /^Berth health report for the whole registry/);
    assert.match(stdout, /Largest repositories\n {2}team\/app .*█/);
    assert.match(stdout, /Images not pulled in 90 days: 1\n {2}other\/app:v1 /);
    assert.match(stdout, /Pushes \(last 90 days\): 1 succeeded, 1 refused/);
    assert.match(stdout, /Vulnerabilities: not available/);
  });

  test('--json is the API answer; --project for a project admin', async () => {
    const whole = JSON.parse(assertOk(await run(['--json'])).stdout) as HealthReport;
    assert.equal(whole.project, null);
    const team = JSON.parse(
      assertOk(await run(['--project', 'team', '--json', '--days', '30'], padmin)).stdout,
    ) as HealthReport;
    assert.equal(team.project, 'team');
    assert.equal(team.windowDays, 30);
  });

  test('--format html is one self-contained file', async () => {
    const { stdout } = assertOk(await run(['--format', 'html']));
    assert.match(stdout, /^<!doctype html>/);
    assert.match(stdout, /<\/html>\n$/);
    assert.match(stdout, /team\/app/);
    // Nothing is fetched from anywhere: no scripts, links, images or URLs.
    assert.doesNotMatch(stdout, /<script|<link|<img|src=|href=|url\(|https?:\/\//i);
  });

  test('refusals and bad flags are one line and a non-zero exit', async () => {
    assertOneLineFailure(await run([], padmin));
    assertOneLineFailure(await run(['--project', 'team'], dev));
    assertOneLineFailure(await run(['--format', 'pdf']), /--format/);
    assertOneLineFailure(await run(['--days', '0']), /--days/);
  });
});

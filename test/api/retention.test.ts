// Retention end to end: a real Berth with access checks, images pushed and pulled with skopeo, pull times
// recorded in batches, a ManualClock moved ten days on, then `berth retention` (set, a dry run, a run, history)
// and skopeo listing the tags after. Guards, a forced run and the expiry of untagged manifests follow.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import { assertOk, type BerthEnv, berth, berthEnv, type CliResult } from '../importer/importer-fixtures.js';
import { type ClientEnv, makeClientEnv, requireTools, skopeo } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { writeTestLayout } from '../support/source-fixtures.js';
import { fileScope, tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo');
const PASSWORD = 'admin-password-1';
const DAY = 24 * 60 * 60 * 1000;

describe('retention against a real server', { skip: gate.skip }, () => {
  const scope = fileScope();
  const clock = new ManualClock(Date.now());
  let server: RunningServer;
  let client: ClientEnv;
  let cli: BerthEnv;
  let work: string;
  let layout: string;
  let v1: string;
  let v2: string;

  const creds = `admin:${PASSWORD}`;
  const docker = (ref: string) => `docker://${server.hostPort}/${ref}`;
  const run = (args: string[]): Promise<CliResult> =>
    berth(cli, [...args, '--server', server.url, '--creds', creds]);
  const push = (image: 'v1' | 'v2', ref: string) =>
    skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `oci:${layout}:${image}`,
      docker(ref),
    ]);
  const inspect = async (ref: string): Promise<string> =>
    (
      await skopeo(client, ['inspect', '--raw', '--tls-verify=false', '--creds', creds, docker(ref)])
    ).stdout.toString();
  const listTags = async (repo: string): Promise<string[]> => {
    const r = await skopeo(client, ['list-tags', '--tls-verify=false', '--creds', creds, docker(repo)]);
    return (JSON.parse(r.stdout.toString()) as { Tags: string[] }).Tags.sort();
  };
  const api = async (
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: the test reads several answer shapes
  ): Promise<{ status: number; json: any }> => {
    const res = await fetch(new URL(`/api/v1/${path}`, server.url), {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(creds).toString('base64')}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir(scope, 'berth-retention-');
    server = await startTestServer({
      data: join(work, 'data'),
      config: { 'auth.mode': 'token' },
      adminPassword: PASSWORD,
      clock,
    });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    cli = await berthEnv(join(work, 'cli'));
    const written = await writeTestLayout(work);
    layout = written.layout;
    v1 = written.v1.digest;
    v2 = written.v2.digest;
    assert.equal((await api('POST', 'projects', { name: 'team' })).status, 201);
    // Pushed in this order: t5 is the newest. t1, t3, t5 share v1's digest; t2, t4 share v2's.
    for (const [image, tag] of [
      ['v1', 't1'],
      ['v2', 't2'],
      ['v1', 't3'],
      ['v2', 't4'],
      ['v1', 't5'],
    ] as const) {
      await push(image, `team/app:${tag}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await push('v2', 'team/old:only');
  });
  after(() => server?.close());

  test('pulls are recorded in batches: nothing is written until the pull log flushes', async () => {
    clock.advance(10 * DAY);
    assert.match(await inspect('team/app:t2'), /schemaVersion/);
    const [before] = (await server.metadata.retention.projectTags('team')).filter((t) => t.tag === 't2');
    assert.equal(before?.pulledAt, null, 'a pull must not cost a write of its own');
    await server.pullLog.flush();
    const rows = await server.metadata.retention.projectTags('team');
    // t2 and t4 share the manifest: the pull time is the manifest's.
    for (const tag of ['t2', 't4']) assert.equal(rows.find((t) => t.tag === tag)?.pulledAt, clock.now());
    assert.equal(rows.find((t) => t.tag === 't1')?.pulledAt, null);
  });

  test('berth retention set refuses a bad file with one line, then stores the policy', async () => {
    const bad = join(work, 'bad.yaml');
    await writeFile(bad, 'rules:\n  - keep: { mostRecentlyPushed: 0 }\n');
    const refused = await run(['retention', 'set', 'team', '--file', bad]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /^berth: .*bad\.yaml: retention policy rules\.0\.keep\.mostRecentlyPushed/);
    const file = join(work, 'policy.yaml');
    await writeFile(
      file,
      [
        // Feb 29 at 03:00: registered (nextRun) but never due while the test runs.
        'schedule: "0 3 29 2 *"',
        'untaggedAfterHours: 24',
        'rules:',
        '  - repositories: app',
        '    keep: { mostRecentlyPushed: 1, pulledWithinDays: 1, tagsMatching: "t1" }',
        '  - repositories: old',
        '    keep: { pushedWithinDays: 1 }',
        '',
      ].join('\n'),
    );
    const set = assertOk(await run(['retention', 'set', 'team', '--file', file]));
    assert.match(set.stdout, /Retention policy of team set \(2 rules\)/);
    const shown = await api('GET', 'projects/team/retention');
    assert.equal(shown.status, 200);
    assert.equal(shown.json.updatedBy, 'admin');
    assert.ok(shown.json.nextRun, 'the schedule is registered');
  });

  test('a dry run prints kept, deleted, why and bytes freed, and deletes nothing', async () => {
    const r = assertOk(await run(['retention', 'run', 'team', '--dry-run', '--json']));
    const answer = JSON.parse(r.stdout);
    assert.equal(answer.dryRun, true);
    const actions = Object.fromEntries(
      answer.result.tags.map((d: { repository: string; tag: string; action: string; reason: string }) => [
        `${d.repository}:${d.tag}`,
        [d.action, d.reason],
      ]),
    );
    assert.deepEqual(actions, {
      'team/app:t1': ['keep', 'rule 1: tag matches t1'],
      'team/app:t2': ['keep', 'rule 1: pulled within 1 days'],
      'team/app:t3': ['delete', 'no keep criterion of rule 1 holds'],
      'team/app:t4': ['keep', 'rule 1: pulled within 1 days'],
      'team/app:t5': ['keep', 'rule 1: among the 1 most recently pushed'],
      'team/old:only': ['keep', 'guard: would delete every tag (1); --force to allow'],
    });
    // t3's digest stays tagged (t1, t5): deleting it frees no bytes.
    assert.equal(answer.bytesFreed, 0);
    assert.deepEqual(
      answer.result.refused.map((x: { repository: string }) => x.repository),
      ['team/old'],
    );
    const text = assertOk(await run(['retention', 'run', 'team', '--dry-run']));
    assert.match(text.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+ACTION\s+WHY/);
    assert.match(text.stdout, /^team\/app\s+t3\s+\w{12}\s+delete\s+no keep criterion/m);
    assert.match(
      text.stdout,
      /Dry run: would delete 1 tags and 0 untagged manifests, keep 5 tags; 0 B freed/,
    );
    assert.deepEqual(await listTags('team/app'), ['t1', 't2', 't3', 't4', 't5']);
  });

  test('a run deletes tag by tag: a tag sharing the digest still pulls intact', async () => {
    const r = assertOk(await run(['retention', 'run', 'team']));
    assert.match(r.stdout, /Deleted 1 tags and 0 untagged manifests/);
    assert.deepEqual(await listTags('team/app'), ['t1', 't2', 't4', 't5']);
    assert.deepEqual(await listTags('team/old'), ['only']);
    const pulled = await inspect('team/app:t5');
    assert.match(pulled, /schemaVersion/);
    assert.equal((await inspect(`team/app@${v1}`)).length, pulled.length);
  });

  test('--force lifts the guards; the image left untagged expires after the hours given', async () => {
    const forced = assertOk(await run(['retention', 'run', 'team', '--force', '--json']));
    assert.equal(JSON.parse(forced.stdout).deletedTags, 1);
    assert.deepEqual(await listTags('team/old'), []);
    // The manifest of team/old was pushed ten days (by the clock) ago and is untagged now.
    const expire = JSON.parse(assertOk(await run(['retention', 'run', 'team', '--json'])).stdout);
    assert.deepEqual(
      expire.result.untagged.map(
        (u: { repository: string; digest: string }) => `${u.repository}@${u.digest}`,
      ),
      [`team/old@${v2}`],
    );
    assert.equal(expire.deletedManifests, 1);
    const gone = await fetch(new URL(`/v2/team/old/manifests/${v2}`, server.url), {
      headers: { authorization: `Basic ${Buffer.from(creds).toString('base64')}` },
    });
    assert.equal(gone.status, 404);
    // team/app's v2 manifest stays: t2 and t4 point at it.
    assert.match(await inspect(`team/app@${v2}`), /schemaVersion/);
  });

  test('berth retention history lists every run, newest first, dry runs marked', async () => {
    const r = assertOk(await run(['retention', 'history', 'team']));
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0] ?? '', /^ID\s+STARTED\s+TRIGGER\s+BY\s+KIND\s+STATUS\s+TAGS\s+MANIFESTS\s+FREED/);
    assert.equal(rows.length, 6);
    assert.match(rows[1] ?? '', /manual\s+admin\s+run\s+done\s+0\s+1/);
    assert.match(rows[2] ?? '', /manual\s+admin\s+forced\s+done\s+1\s+0/);
    assert.match(rows.at(-1) ?? '', /manual\s+admin\s+dry run\s+done\s+0\s+0/);
    const json = JSON.parse(assertOk(await run(['retention', 'history', 'team', '--json'])).stdout);
    assert.equal(json.runs.length, 5);
  });

  test('errors: no policy is 404, a bad cron is 400, unknown projects answer 404', async () => {
    assert.equal((await api('POST', 'projects', { name: 'empty' })).status, 201);
    const none = await run(['retention', 'run', 'empty']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /^berth: .*no retention policy/);
    const cron = await api('PUT', 'projects/team/retention', { policy: { schedule: '99 * * * *' } });
    assert.equal(cron.status, 400);
    assert.equal(cron.json.errors?.[0]?.code, 'INVALID');
    assert.equal((await api('GET', 'projects/nope/retention')).status, 404);
  });
});

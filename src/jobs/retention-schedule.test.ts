import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../clock/clock.js';
import { createLogger } from '../main/logger.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import { RetentionJobs } from './retention-jobs.js';

const log = createLogger('silent');

test('a policy with a schedule is scheduled at start and on set; the cron runs the same run as the CLI', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-retention-schedule-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
  t.after(() => store.close());
  await store.migrate();
  for (const name of ['team', 'other'])
    await store.access.createProject({ name, public: false, createdAt: 1 });
  await store.retention.setPolicy({
    project: 'team',
    policy: { schedule: '0 3 29 2 *', rules: [{ keep: { always: true } }] },
    updatedAt: 1,
    updatedBy: 'admin',
  });
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const jobs = new RetentionJobs(store.retention, clock, log);
  t.after(() => jobs.stop());
  await jobs.start();
  assert.equal((await jobs.policy('team')).nextRun?.toISOString(), '2028-02-29T03:00:00.000Z');
  await jobs.setPolicy('other', { schedule: '*/5 * * * *' }, 'admin');
  assert.ok((await jobs.policy('other')).nextRun, 'set schedules it');
  clock.advance(60_000);
  // What the cron does when due, without waiting for it.
  assert.equal(await jobs.triggerScheduled('team'), true);
  const [run] = await store.retention.listRuns('team', 10);
  assert.equal(run?.trigger, 'schedule');
  assert.equal(run?.actor, 'schedule');
  assert.equal(run?.startedAt, clock.now());
  await jobs.deletePolicy('other');
  assert.equal(await jobs.triggerScheduled('other'), false, 'removing the policy unschedules it');
  await assert.rejects(jobs.setPolicy('other', { schedule: '61 * * * *' }, 'admin'), {
    code: 'POLICY_INVALID',
  });
});

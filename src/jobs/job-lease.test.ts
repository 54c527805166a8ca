// Job leases on real SQLite and, where BERTH_TEST_POSTGRES_URL is set, real PostgreSQL: two "nodes" (two
// JobLease objects with different holders over one store) and a ManualClock standing for the time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { fileScope, tempDir } from '../../test/support/temp.js';
import { ManualClock } from '../clock/clock.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { openPostgresMetadata } from '../metadata/postgres.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { GcService } from './gc.js';
import { JobLease } from './job-lease.js';
import { RetentionSchedule } from './retention-schedule.js';

const url = process.env.BERTH_TEST_POSTGRES_URL;
const databases: string[] = [];
const stores: MetadataStore[] = [];
after(async () => {
  for (const store of stores) await store.close();
  if (!url || databases.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const db of databases) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await client.end();
});

const dialects: Array<[string, () => Promise<MetadataStore>]> = [
  [
    'SQLite',
    async () => {
      const dir = await tempDir(fileScope(), 'berth-job-lease-');
      const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
      await store.migrate();
      stores.push(store);
      return store;
    },
  ],
];
if (url)
  dialects.push([
    'PostgreSQL',
    async () => {
      const name = `berth_test_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      databases.push(name);
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${name}`;
      const store = openPostgresMetadata(dbUrl.toString(), 5);
      await store.migrate();
      stores.push(store);
      return store;
    },
  ]);

const log = pino({ level: 'silent' });

for (const [dialect, open] of dialects) {
  describe(`job leases on ${dialect}`, () => {
    test('acquire, renew and release are conditional: a table of steps by two holders', async () => {
      const store = (await open()).leases;
      // [holder, action, now, expected]: a lease lasts until now + 1000.
      const steps: Array<['a' | 'b', 'acquire' | 'release', number, boolean]> = [
        ['a', 'acquire', 0, true], // free: taken
        ['b', 'acquire', 500, false], // held by a, not expired
        ['a', 'acquire', 900, true], // a renews: now until 1900
        ['b', 'acquire', 1500, false], // a's renewal counts
        ['b', 'acquire', 1900, true], // a's time ran out (expires_at <= now)
        ['a', 'acquire', 1950, false], // b holds it now
        ['a', 'release', 2000, false], // a cannot release b's lease
        ['b', 'release', 2000, true],
        ['a', 'acquire', 2001, true], // released: free at once
      ];
      for (const [i, [holder, action, now, expected]] of steps.entries()) {
        const got =
          action === 'acquire'
            ? await store.acquireLease('job', holder, now, now + 1000)
            : await store.releaseLease('job', holder);
        assert.equal(got, expected, `step ${i}: ${holder} ${action} at ${now}`);
      }
      assert.deepEqual(await store.lease('job'), { name: 'job', holder: 'a', expiresAt: 3001 });
      assert.equal(await store.lease('other'), undefined);
    });

    test('of many holders racing for a free lease, exactly one wins', async () => {
      const store = (await open()).leases;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.acquireLease('race', `node-${i}`, 0, 1000)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('a job runs on the holder only, and moves to the other node when the holder stops renewing', async () => {
      const meta = await open();
      const clock = new ManualClock();
      const lease = (holder: string) =>
        new JobLease({ store: meta.leases, name: 'upload-purge', holder, clock, ttlMs: 30_000, log });
      const a = lease('node-a');
      const b = lease('node-b');
      const ran: string[] = [];
      assert.equal(await a.run(async () => ran.push('a')), true);
      assert.equal(await b.run(async () => ran.push('b')), false);
      clock.advance(20_000);
      assert.equal(await a.run(async () => ran.push('a')), true); // renews until 50 s
      clock.advance(20_000);
      assert.equal(await b.run(async () => ran.push('b')), false); // 40 s: a still holds it
      // a dies (no more renewals): at 50 s its lease ran out and b takes the job.
      clock.advance(10_000);
      assert.equal(await b.run(async () => ran.push('b')), true);
      assert.equal(b.held, true);
      assert.equal(await a.acquire(), false);
      assert.deepEqual(ran, ['a', 'a', 'b']);
      // b stops cleanly: the lease is released and a takes it without waiting for the time to run out.
      await b.stop();
      assert.equal(await meta.leases.lease('upload-purge'), undefined);
      assert.equal(await a.run(async () => ran.push('a')), true);
    });

    test('gc: one run across the nodes, and a run a dead node left is resumed once its run lease ran out', async () => {
      const meta = await open();
      const clock = new ManualClock(Date.now());
      const blobs = new DriverBlobStore(
        new FsDriver(join(await tempDir(fileScope(), 'berth-gc-lease-'), 's')),
      );
      const node = (holder: string) => {
        const lease = (name: string) =>
          new JobLease({ store: meta.leases, name, holder, clock, ttlMs: 30_000, log });
        return new GcService(
          { meta, blobs, clock, log, uploadMaxAgeMs: 86_400_000 },
          { defaultGraceMs: 0, lease: lease('gc'), runLease: lease('gc-run') },
        );
      };
      const a = node('node-a');
      const b = node('node-b');
      // a crashed mid-run: its row says running and its run lease has not run out yet.
      const deadRunLease = new JobLease({
        store: meta.leases,
        name: 'gc-run',
        holder: 'node-a',
        clock,
        ttlMs: 30_000,
        log,
      });
      assert.equal(await deadRunLease.acquire(), true);
      const left = await meta.gc.createRun({
        trigger: 'manual',
        dryRun: true,
        untagged: false,
        graceMs: 0,
        cutoff: clock.now(),
        startedAt: clock.now(),
      });
      const request = { dryRun: true, untagged: false, graceMs: 0, trigger: 'manual' } as const;
      await assert.rejects(b.start(request), {
        code: 'CONFLICT',
        message: new RegExp(`run ${left.id}\\b.*another node`),
      });
      assert.equal(await b.resumeInterrupted(), undefined);
      assert.equal(
        (await meta.gc.run(left.id))?.status,
        'running',
        'a live run elsewhere is not marked interrupted',
      );
      // The run lease runs out: b takes the orphan over from its checkpoint.
      clock.advance(30_000);
      const resumed = await b.resumeInterrupted();
      assert.equal(resumed?.id, left.id);
      assert.equal((await meta.leases.lease('gc-run'))?.holder, 'node-b');
      await b.settled();
      assert.equal((await meta.gc.run(left.id))?.status, 'succeeded');
      // The run over, b gave the run lease up: a runs the next one at once.
      assert.equal(await meta.leases.lease('gc-run'), undefined);
      const next = await a.start(request);
      await a.settled();
      assert.equal((await a.run(next.id))?.status, 'succeeded');
      await Promise.all([a.stop(), b.stop()]);
    });

    test('retention: a scheduled run fires on the lease holder only', async () => {
      const meta = await open();
      const clock = new ManualClock();
      const ran: string[] = [];
      const node = (holder: string) => {
        const lease = new JobLease({
          store: meta.leases,
          name: 'retention',
          holder,
          clock,
          ttlMs: 30_000,
          log,
        });
        const schedule = new RetentionSchedule(
          meta.retention,
          async (project) => ran.push(`${holder}:${project}`),
          log,
          lease,
        );
        schedule.update('team', '0 3 * * *');
        return { lease, schedule };
      };
      const a = node('node-a');
      const b = node('node-b');
      assert.equal(await a.lease.acquire(), true);
      // [node that ticks, ms the clock moves first, runs so far after the tick]
      const steps: Array<[typeof a, number, string[]]> = [
        [a, 0, ['node-a:team']],
        [b, 10_000, ['node-a:team']], // a holds it: b skips its tick
        [b, 30_000, ['node-a:team', 'node-b:team']], // a stopped renewing 40 s ago: b takes it
        [a, 0, ['node-a:team', 'node-b:team']],
      ];
      for (const [i, [which, advance, expected]] of steps.entries()) {
        clock.advance(advance);
        assert.equal(await which.schedule.trigger('team'), true);
        assert.deepEqual(ran, expected, `step ${i}`);
      }
      await a.schedule.stop();
      await b.schedule.stop();
    });
  });
}

// Two `berth serve` processes over one PostgreSQL: the upload purge runs on the node holding its lease only;
// killing that node (SIGKILL, so it cannot release anything) moves the job to the other node once the lease's
// time ran out. The signs: the `leases` row, a stale upload row the purge removes, and each node's log.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type BerthProcess, spawnBerth } from '../support/berth-process.js';
import { fileScope, tempDir } from '../support/temp.js';
import { requireCondition } from '../support/tool-gate.js';

const postgres = process.env.BERTH_TEST_POSTGRES_URL;
const gate = requireCondition(
  postgres ? undefined : 'BERTH_TEST_POSTGRES_URL is not set (npm run test:full starts one)',
);
// Long enough that a node slowed by a loaded machine still renews in time (renewals come every third of it).
const LEASE_TTL_SECONDS = 5;

/** Polls `check` until it returns a value (the sign that the servers got there); fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a background job moves to another node when its lease holder dies', { skip: gate.skip }, () => {
  const nodes: BerthProcess[] = [];
  const database = `berth_leases_${randomBytes(4).toString('hex')}`;
  let db: pg.Client;

  before(async () => {
    gate.assertAvailable();
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(postgres as string);
    url.pathname = `/${database}`;
    const work = await tempDir(fileScope(), 'berth-leases-');
    const config = join(work, 'berth.yaml');
    await writeFile(
      config,
      [
        'registry:',
        '  uploadPurge:',
        '    interval: 1',
        '    maxAge: 60',
        'jobs:',
        `  leaseTtl: ${LEASE_TTL_SECONDS}`,
        'metadata:',
        '  postgres:',
        `    url: ${url}`,
        '',
      ].join('\n'),
    );
    // One after the other: the first creates the schema.
    for (const name of ['a', 'b'])
      nodes.push(
        await spawnBerth(['--listen', '127.0.0.1:0', '--data', join(work, name), '--config', config], {
          BERTH_LOG_LEVEL: 'info',
        }),
      );
    db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await db?.end();
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  const holderOf = async (name: string): Promise<BerthProcess | undefined> => {
    const { rows } = await db.query<{ holder: string }>('select holder from leases where name = $1', [name]);
    const pid = rows[0]?.holder.split(':')[1];
    return nodes.find((node) => String(node.child.pid) === pid);
  };
  /** Inserts an upload row nobody touched for a day, and waits until a purge removed it. */
  const purgeOneStaleUpload = async (): Promise<void> => {
    const id = randomUUID();
    await db.query('insert into uploads (id, repository, created_at, updated_at) values ($1, $2, 0, 0)', [
      id,
      'team/stale',
    ]);
    await until(`the purge of upload ${id}`, async () => {
      const { rowCount } = await db.query('select 1 from uploads where id = $1', [id]);
      return rowCount === 0 ? true : undefined;
    });
  };
  const purges = (node: BerthProcess): number => node.output().split('stale uploads purged').length - 1;

  test('the holder purges, the other does not; after a SIGKILL the other takes the lease and purges', async () => {
    const holder = await until('a holder of the upload-purge lease', () => holderOf('upload-purge'));
    const other = nodes.find((node) => node !== holder) as BerthProcess;
    // Every job has one holder, and the jobs need not sit on the same node.
    for (const name of ['event-prune', 'gc', 'retention'])
      assert.ok(await until(`a holder of ${name}`, () => holderOf(name)));

    await purgeOneStaleUpload();
    assert.equal(purges(holder), 1, holder.output());
    assert.equal(purges(other), 0, 'the node without the lease did not run the purge');

    const killedAt = performance.now();
    assert.equal(await holder.stop('SIGKILL'), 'SIGKILL');
    const taken = await until('the other node taking the lease', async () =>
      (await holderOf('upload-purge')) === other ? true : undefined,
    );
    assert.ok(taken);
    const takeoverMs = performance.now() - killedAt;
    // Once the dead holder's time ran out, the next try (every leaseTtl/3) takes it.
    assert.ok(takeoverMs < (LEASE_TTL_SECONDS + 3) * 1000, `took ${takeoverMs} ms`);
    console.log(
      `# lease moved ${Math.round(takeoverMs)} ms after the SIGKILL (leaseTtl ${LEASE_TTL_SECONDS} s)`,
    );
    await purgeOneStaleUpload();
    assert.equal(purges(other), 1, other.output());
  });

  test('a clean stop releases the leases: nothing waits for their time to run out', async () => {
    const survivor = nodes.find((node) => node.child.exitCode === null && node.child.signalCode === null);
    assert.ok(survivor);
    // Every job the dead node held has moved here by now, or does within the lease's time.
    for (const name of ['upload-purge', 'event-prune', 'gc', 'retention'])
      await until(`${name} on the surviving node`, async () =>
        (await holderOf(name)) === survivor ? true : undefined,
      );
    assert.equal(await survivor.stop(), 0);
    const { rows } = await db.query('select name from leases');
    assert.deepEqual(rows, []);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { requireCondition } from '../../test/support/tool-gate.js';
import { metadataSuite } from './metadata-store.test-suite.js';
import { openPostgresMetadata } from './postgres.js';

// CI and `npm run test:full` set BERTH_TEST_POSTGRES_URL to a throwaway cluster; then a PostgreSQL that is
// down fails the run, and so does a full run without one.
const url = process.env.BERTH_TEST_POSTGRES_URL;
const postgresGate = requireCondition(
  url
    ? undefined
    : 'BERTH_TEST_POSTGRES_URL is not set (apt-get install -y postgresql-15; npm run test:full starts one)',
);

if (!url) {
  describe('metadata on PostgreSQL', { skip: postgresGate.skip }, () => {
    test('needs BERTH_TEST_POSTGRES_URL', () => postgresGate.assertAvailable());
  });
} else {
  const created: string[] = [];
  const admin = (): pg.Client => new pg.Client({ connectionString: url });
  after(async () => {
    const client = admin();
    await client.connect();
    for (const db of created) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await client.end();
  });
  // Each test gets a database of its own, so the suite starts from empty like it does on SQLite.
  metadataSuite('PostgreSQL', async () => {
    const name = `berth_test_${randomBytes(6).toString('hex')}`;
    const client = admin();
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    created.push(name);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const store = openPostgresMetadata(dbUrl.toString(), 5);
    await store.migrate();
    return store;
  });

  test('connections the server ends (a restart, a failover) do not end the process; the next query reconnects', async (t) => {
    const name = `berth_test_${randomBytes(6).toString('hex')}`;
    const client = admin();
    await client.connect();
    t.after(() => client.end());
    await client.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const store = openPostgresMetadata(dbUrl.toString(), 5);
    t.after(() => store.close());
    await store.migrate();
    await store.access.countUsers();
    // What a restart does to the idle connections in the pool.
    const ended = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    assert.ok(ended.rowCount && ended.rowCount > 0, 'the pool had a connection to end');
    // The next query may meet a connection the pool has not yet dropped: a caller retries, the process lives.
    let users: number | undefined;
    for (let attempt = 0; attempt < 3 && users === undefined; attempt++)
      users = await store.access.countUsers().catch(() => undefined);
    assert.equal(users, 0);
  });
}

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { openPostgresMetadata } from './postgres.js';
import { retentionStoreSuite } from './retention-store.test-suite.js';
import { openSqliteMetadata } from './sqlite.js';

const dirs: string[] = [];
const databases: string[] = [];
const url = process.env.BERTH_TEST_POSTGRES_URL;
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  if (!url || databases.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const db of databases) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await client.end();
});

retentionStoreSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-retention-store-'));
  dirs.push(dir);
  const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
  await store.migrate();
  return store;
});

// PostgreSQL where BERTH_TEST_POSTGRES_URL names a throwaway cluster (postgres.test.ts gates the dialect itself).
if (url) {
  retentionStoreSuite('PostgreSQL', async () => {
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
    return store;
  });
}

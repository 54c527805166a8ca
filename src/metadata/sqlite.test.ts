import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { metadataSuite } from './metadata-store.test-suite.js';
import { openSqliteMetadata } from './sqlite.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

metadataSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-'));
  dirs.push(dir);
  const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
  await store.migrate();
  return store;
});

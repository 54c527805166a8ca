import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyMetadataStore } from './kysely-store.js';
import type { Database } from './schema.js';

/** The embedded default: one SQLite file in WAL mode. */
export function openSqliteMetadata(path: string): KyselyMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  // FULL: a commit the client was told about survives a power cut, not only a killed process.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return new KyselyMetadataStore(
    new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) }),
    'sqlite',
  );
}

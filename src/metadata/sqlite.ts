import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyMetadataStore } from './kysely-store.js';
import type { Database } from './schema.js';

// Distinct SQL texts kept prepared; IN lists of many lengths make new texts, so the cache is bounded.
const STATEMENT_CACHE = 512;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs more than running a small query:
 * it was over half of the registry's CPU on manifest GETs. Statements are reusable (Kysely runs them with
 * the synchronous `all`/`run`), so `prepare` here hands back the statement made the first time.
 */
function withStatementCache(db: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string): BetterSqlite3.Statement => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
    }
    return statement;
  };
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

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
    new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(db) }) }),
    'sqlite',
  );
}

import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { RegistryError } from '../oci/errors.js';
import { KyselyMetadataStore } from './kysely-store.js';
import type { Database } from './schema.js';

// Distinct SQL texts kept prepared; IN lists of many lengths make new texts, so the cache is bounded.
const STATEMENT_CACHE = 512;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs more than running a small query:
 * it was over half of the registry's CPU on manifest GETs. Statements are reusable (Kysely runs them with
 * the synchronous `all`/`run`), so `prepare` here hands back the statement made the first time.
 */
function withStatementCache(db: BetterSqlite3.Database, guard: DatabaseFileGuard): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string): BetterSqlite3.Statement => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
    }
    // Kysely prepares every statement it runs, `commit` included: the one place to stop every write.
    if (!statement.readonly || COMMIT.test(sql)) guard.assertWritable();
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

const COMMIT = /^\s*(commit|end)\b/i;

/**
 * Whether the file SQLite has open is still the one at its path. After `rm metadata.sqlite*` (or a restore
 * that replaced the file) SQLite keeps writing into the unlinked inode, and every write it acknowledges is
 * lost at the next start. A stat per write is a few microseconds; once the file is gone, it stays gone.
 */
export class DatabaseFileGuard {
  private lostReason: string | undefined;
  private readonly identity: { dev: number; ino: number } | undefined;

  constructor(
    readonly path: string,
    private readonly onLost: (reason: string) => void = () => {},
  ) {
    this.identity = path === ':memory:' ? undefined : fileIdentity(path);
  }

  /** Why writes are refused, or undefined while the file is the one opened. */
  check(): string | undefined {
    if (this.lostReason !== undefined || this.identity === undefined) return this.lostReason;
    let now: { dev: number; ino: number } | undefined;
    try {
      now = fileIdentity(this.path);
    } catch {
      now = undefined;
    }
    if (now === undefined) this.lostReason = 'the metadata database file was deleted while Berth ran';
    else if (now.dev !== this.identity.dev || now.ino !== this.identity.ino)
      this.lostReason = 'the metadata database file was replaced while Berth ran';
    if (this.lostReason !== undefined) this.onLost(this.lostReason);
    return this.lostReason;
  }

  assertWritable(): void {
    const reason = this.check();
    if (reason !== undefined)
      throw new RegistryError(
        'UNAVAILABLE',
        `${reason}; writes are refused until it is restored and Berth restarted`,
      );
  }
}

function fileIdentity(path: string): { dev: number; ino: number } {
  const stat = statSync(path);
  return { dev: stat.dev, ino: stat.ino };
}

export interface SqliteOptions {
  /** Called once when the database file is found deleted or replaced. */
  onLost?: (reason: string) => void;
}

/** The embedded default: one SQLite file in WAL mode. */
export function openSqliteMetadata(path: string, options: SqliteOptions = {}): KyselyMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  const guard = new DatabaseFileGuard(path, options.onLost);
  db.pragma('journal_mode = WAL');
  // FULL: a commit the client was told about survives a power cut, not only a killed process.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return new KyselyMetadataStore(
    new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(db, guard) }) }),
    'sqlite',
    async () => guard.check(),
  );
}

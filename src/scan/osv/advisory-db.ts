import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { BerthError } from '../../oci/errors.js';
import { packageNameKey } from '../versions/ecosystem-version.js';
import { OSV_EXPORT_URL } from './osv-export.js';
import type { OsvRecord } from './osv-record.js';

/**
 * The offline advisory store: one SQLite file of OSV records and an index from (package name, ecosystem) to
 * record ids, so matching a few hundred packages is a few hundred indexed lookups.
 *
 * better-sqlite3 directly, not Kysely: this is a local, read-mostly cache of published records that only
 * ever lives in SQLite, not the registry's metadata that must run on PostgreSQL too.
 */

export const ADVISORY_DB_ENV = 'BERTH_ADVISORY_DB';

/** Where the database lives: `--db`, else `BERTH_ADVISORY_DB`, else `<data>/advisories/osv.sqlite`. */
export function resolveAdvisoryDbPath(options: {
  db?: string;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): string {
  const cwd = options.cwd ?? process.cwd();
  const chosen = options.db || (options.env ?? process.env)[ADVISORY_DB_ENV];
  if (chosen) return isAbsolute(chosen) ? chosen : resolve(cwd, chosen);
  return join(resolve(cwd, options.dataDir), 'advisories', 'osv.sqlite');
}

export type PutOutcome = 'imported' | 'updated' | 'unchanged';

/** Writes inside one import transaction. */
export interface AdvisoryWriter {
  /** Stores a record unless the stored one with the same id was modified later. */
  put(record: OsvRecord): PutOutcome;
}

export interface EcosystemStatus {
  ecosystem: string;
  records: number;
  withdrawn: number;
  newestModified: string;
}

export interface AdvisoryDbStatus {
  path: string;
  records: number;
  withdrawn: number;
  newestModified?: string;
  lastImport?: string;
  ecosystems: EcosystemStatus[];
}

/** A record found for a package, with the ecosystem string under which it names the package. */
export interface AdvisoryHit {
  ecosystem: string;
  record: OsvRecord;
}

export interface AdvisoryDb {
  readonly path: string;
  /**
   * Runs `work` in one write transaction: all of it is stored or, if it throws or the process dies, none of it
   * (the file is in WAL mode, so readers and a crash see the old state).
   */
  transaction<T>(work: (writer: AdvisoryWriter) => Promise<T>): Promise<T>;
  /** Records naming `name` in any of `ecosystems` (exact strings) or under any of `prefixes` (`Red Hat:`); withdrawn ones left out. */
  find(name: string, ecosystems: readonly string[], prefixes?: readonly string[]): AdvisoryHit[];
  get(id: string): OsvRecord | undefined;
  status(): AdvisoryDbStatus;
  /** The version (an HTTP ETag) of a downloaded source last imported whole, by its URL. */
  sourceVersion(url: string): string | undefined;
  setSourceVersion(url: string, version: string): void;
  close(): void;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  id TEXT PRIMARY KEY,
  -- The first affected package's ecosystem: what status counts by (matching uses the affected index).
  ecosystem TEXT NOT NULL,
  modified TEXT NOT NULL,
  withdrawn TEXT,
  json TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS affected (
  name TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  record_id TEXT NOT NULL,
  PRIMARY KEY (name, ecosystem, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_by_record ON affected (record_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

/** `modified` as a fixed-width UTC string, so text order is time order. */
function normalizeTime(value: string): string {
  return new Date(value).toISOString();
}

function sqliteFailure(path: string, error: unknown): BerthError {
  const message = error instanceof Error ? error.message : String(error);
  return new BerthError('ADVISORY_DB_INVALID', `advisory database ${path} cannot be used: ${message}`, {
    cause: error,
  });
}

/**
 * Opens (and by default creates) the advisory database. `mustExist` refuses a missing file with
 * ADVISORY_DB_MISSING, as a scan wants; a file that is not a Berth advisory database is ADVISORY_DB_INVALID.
 */
export function openAdvisoryDb(
  path: string,
  options: { mustExist?: boolean; readonly?: boolean } = {},
): AdvisoryDb {
  if (!existsSync(path)) {
    if (options.mustExist || options.readonly)
      throw new BerthError(
        'ADVISORY_DB_MISSING',
        `no advisory database at ${path}: download OSV's advisories with \`berth db update\` (or load files from OSV's exports, ${OSV_EXPORT_URL}<Ecosystem>/all.zip, with \`berth db import PATH\`)`,
      );
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new BerthError(
        'ADVISORY_DB_INVALID',
        `cannot create ${dirname(path)}: ${(error as Error).message}`,
      );
    }
  }
  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly: options.readonly === true,
      fileMustExist: options.readonly === true,
    });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new BerthError(
        'ADVISORY_DB_INVALID',
        `advisory database ${path} was written by a newer Berth (schema ${version})`,
      );
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (version < SCHEMA_VERSION) {
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }
    } else if (version < SCHEMA_VERSION) {
      throw new BerthError('ADVISORY_DB_INVALID', `${path} is not a Berth advisory database`);
    }
  } catch (error) {
    if (error instanceof BerthError) throw error;
    throw sqliteFailure(path, error);
  }
  return new SqliteAdvisoryDb(path, db);
}

class SqliteAdvisoryDb implements AdvisoryDb {
  readonly path: string;
  readonly #db: Database.Database;
  #writing = false;
  readonly #byName: Database.Statement<[string], { ecosystem: string; record_id: string }>;
  readonly #recordJson: Database.Statement<[string], { json: string; withdrawn: string | null }>;

  constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    this.#byName = db.prepare('SELECT ecosystem, record_id FROM affected WHERE name = ?');
    this.#recordJson = db.prepare('SELECT json, withdrawn FROM records WHERE id = ?');
  }

  async transaction<T>(work: (writer: AdvisoryWriter) => Promise<T>): Promise<T> {
    if (this.#writing) throw new Error('advisory database: one import at a time');
    const db = this.#db;
    const current = db.prepare<[string], { modified: string; json: string }>(
      'SELECT modified, json FROM records WHERE id = ?',
    );
    const upsert = db.prepare<[string, string, string, string | null, string]>(
      'INSERT OR REPLACE INTO records (id, ecosystem, modified, withdrawn, json) VALUES (?, ?, ?, ?, ?)',
    );
    const unindex = db.prepare<[string]>('DELETE FROM affected WHERE record_id = ?');
    const index = db.prepare<[string, string, string]>(
      'INSERT OR IGNORE INTO affected (name, ecosystem, record_id) VALUES (?, ?, ?)',
    );
    const writer: AdvisoryWriter = {
      put(record) {
        const json = JSON.stringify(record);
        const modified = normalizeTime(record.modified);
        const stored = current.get(record.id);
        let outcome: PutOutcome = 'imported';
        if (stored) {
          if (modified < stored.modified) return 'unchanged';
          if (modified === stored.modified && json === stored.json) return 'unchanged';
          outcome = 'updated';
        }
        const ecosystem = record.affected?.find((a) => a.package)?.package?.ecosystem ?? '';
        upsert.run(
          record.id,
          ecosystem,
          modified,
          record.withdrawn ? normalizeTime(record.withdrawn) : null,
          json,
        );
        unindex.run(record.id);
        // A withdrawn record stays stored (so an older copy cannot come back) but is no longer found.
        if (!record.withdrawn) {
          for (const affected of record.affected ?? []) {
            if (affected.package)
              index.run(
                packageNameKey(affected.package.ecosystem, affected.package.name),
                affected.package.ecosystem,
                record.id,
              );
          }
        }
        return outcome;
      },
    };
    this.#writing = true;
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(writer);
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_import', ?)").run(
          new Date().toISOString(),
        );
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_'))
        throw sqliteFailure(this.path, error);
      throw error;
    } finally {
      this.#writing = false;
    }
  }

  find(name: string, ecosystems: readonly string[], prefixes: readonly string[] = []): AdvisoryHit[] {
    const wanted = new Set(ecosystems);
    const hits: AdvisoryHit[] = [];
    for (const row of this.#byName.all(name)) {
      if (!wanted.has(row.ecosystem) && !prefixes.some((p) => row.ecosystem.startsWith(p))) continue;
      const record = this.get(row.record_id);
      if (record) hits.push({ ecosystem: row.ecosystem, record });
    }
    return hits;
  }

  get(id: string): OsvRecord | undefined {
    const row = this.#recordJson.get(id);
    if (!row || row.withdrawn) return undefined;
    // Checked against the schema when imported: trusted here.
    return JSON.parse(row.json) as OsvRecord;
  }

  status(): AdvisoryDbStatus {
    const rows = this.#db
      .prepare<[], { ecosystem: string; records: number; withdrawn: number; newest: string }>(
        `SELECT ecosystem, COUNT(*) AS records, COUNT(withdrawn) AS withdrawn, MAX(modified) AS newest
         FROM records GROUP BY ecosystem ORDER BY ecosystem`,
      )
      .all();
    const lastImport = this.#db
      .prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'last_import'")
      .get()?.value;
    const ecosystems = rows.map((r) => ({
      ecosystem: r.ecosystem,
      records: r.records,
      withdrawn: r.withdrawn,
      newestModified: r.newest,
    }));
    const newest = ecosystems.reduce<string | undefined>(
      (max, e) => (max === undefined || e.newestModified > max ? e.newestModified : max),
      undefined,
    );
    const status: AdvisoryDbStatus = {
      path: this.path,
      records: ecosystems.reduce((n, e) => n + e.records, 0),
      withdrawn: ecosystems.reduce((n, e) => n + e.withdrawn, 0),
      ecosystems,
    };
    if (newest) status.newestModified = newest;
    if (lastImport) status.lastImport = lastImport;
    return status;
  }

  sourceVersion(url: string): string | undefined {
    return this.#db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(`source:${url}`)?.value;
  }

  setSourceVersion(url: string, version: string): void {
    this.#db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(`source:${url}`, version);
  }

  close(): void {
    this.#db.close();
  }
}

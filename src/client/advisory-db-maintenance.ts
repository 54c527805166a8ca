import { stat } from 'node:fs/promises';
import { BerthError } from '../oci/errors.js';
import type { AdvisoryDbStatus } from '../scan/osv/advisory-db.js';
import type { AdvisoryImportResult } from '../scan/osv/advisory-import.js';
import type { AdvisoryUpdateOptions, EcosystemUpdate } from './advisory-download.js';

/** Where OSV publishes its per-ecosystem archives, the default mirror. */
export { OSV_EXPORT_URL } from '../scan/osv/osv-export.js';

/** What `berth db update` fetches without `--ecosystem`: the operating systems and languages images hold most. */
export const DEFAULT_ECOSYSTEMS = ['Debian', 'Ubuntu', 'Alpine', 'npm', 'PyPI', 'Go'] as const;

// The database, its importer and the HTTP stack are loaded on use: they would slow every other command.

/**
 * `berth db import`: loads OSV records from zips, folders or JSON files, each source in one transaction.
 * Every source is checked before any is imported, so a typo does not leave half of them loaded.
 */
export async function importAdvisorySources(
  dbPath: string,
  paths: string[],
  events: {
    onRecord?: ((path: string, records: number) => void) | undefined;
    onImported?: (result: AdvisoryImportResult) => void;
  } = {},
): Promise<AdvisoryImportResult[]> {
  for (const path of paths) {
    try {
      await stat(path);
    } catch {
      throw new BerthError('ADVISORY_SOURCE_MISSING', `${path}: no such file or folder`);
    }
  }
  const [{ openAdvisoryDb }, { importAdvisories }] = await Promise.all([
    import('../scan/osv/advisory-db.js'),
    import('../scan/osv/advisory-import.js'),
  ]);
  const store = openAdvisoryDb(dbPath);
  const results: AdvisoryImportResult[] = [];
  try {
    for (const path of paths) {
      const onRecord = events.onRecord;
      const result = await importAdvisories(store, path, {
        onRecord: onRecord ? (n) => onRecord(path, n) : undefined,
      });
      results.push(result);
      events.onImported?.(result);
    }
  } finally {
    store.close();
  }
  return results;
}

/**
 * `berth db update`: downloads OSV's per-ecosystem archives from the mirror and imports them, over a
 * transport of its own that verifies TLS.
 */
export async function updateAdvisories(
  options: Omit<AdvisoryUpdateOptions, 'transport'>,
): Promise<EcosystemUpdate[]> {
  const [{ updateAdvisoryDb }, { httpTransport }] = await Promise.all([
    import('./advisory-download.js'),
    import('./transport/http-transport.js'),
  ]);
  const transport = httpTransport({ tls: () => ({ verify: true }), userAgent: 'berth (db update)' });
  try {
    return await updateAdvisoryDb({ ...options, transport });
  } finally {
    await transport.close();
  }
}

/** `berth db status`: the database's ecosystems and counts, or undefined when there is no database. */
export async function readAdvisoryDbStatus(dbPath: string): Promise<AdvisoryDbStatus | undefined> {
  const { openAdvisoryDb } = await import('../scan/osv/advisory-db.js');
  const exists = await stat(dbPath).then(
    () => true,
    () => false,
  );
  if (!exists) return undefined;
  const store = openAdvisoryDb(dbPath, { mustExist: true });
  try {
    return store.status();
  } finally {
    store.close();
  }
}

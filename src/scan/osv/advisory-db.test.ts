import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp.js';
import { BerthError } from '../../oci/errors.js';
import { openAdvisoryDb, resolveAdvisoryDbPath } from './advisory-db.js';
import type { OsvRecord } from './osv-record.js';

function record(
  id: string,
  modified: string,
  ecosystem: string,
  name: string,
  extra: Partial<OsvRecord> = {},
) {
  return {
    id,
    modified,
    affected: [
      {
        package: { ecosystem, name },
        ranges: [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: '2.0' }] }],
      },
    ],
    ...extra,
  } satisfies OsvRecord;
}

describe('advisory database', () => {
  test('path: --db, then BERTH_ADVISORY_DB, then <data>/advisories/osv.sqlite', () => {
    const cwd = '/work/here';
    assert.equal(
      resolveAdvisoryDbPath({ dataDir: './berth-data', env: {}, cwd }),
      '/work/here/berth-data/advisories/osv.sqlite',
    );
    assert.equal(
      resolveAdvisoryDbPath({ dataDir: '/var/lib/berth', env: { BERTH_ADVISORY_DB: 'env.sqlite' }, cwd }),
      '/work/here/env.sqlite',
    );
    assert.equal(
      resolveAdvisoryDbPath({
        db: '/tmp/x.sqlite',
        dataDir: 'd',
        env: { BERTH_ADVISORY_DB: 'env.sqlite' },
        cwd,
      }),
      '/tmp/x.sqlite',
    );
  });

  test('stores records, finds them by package and ecosystem, newer-or-equal modified wins', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'advisories', 'osv.sqlite');
    const db = openAdvisoryDb(path);
    t.after(() => db.close());
    assert.ok(existsSync(path), 'the folder and file are created');

    const outcomes = await db.transaction(async (w) => [
      w.put(record('A-1', '2025-01-01T00:00:00Z', 'Debian:12', 'glibc', { summary: 'first' })),
      w.put(record('A-2', '2025-01-02T00:00:00Z', 'Debian:11', 'glibc')),
      w.put(record('A-3', '2025-01-03T00:00:00.123456Z', 'npm', 'zod')),
      w.put(record('A-4', '2025-01-04T00:00:00Z', 'PyPI', 'Foo_Bar')),
    ]);
    assert.deepEqual(outcomes, ['imported', 'imported', 'imported', 'imported']);

    assert.deepEqual(
      db.find('glibc', ['Debian:12', 'Debian']).map((h) => [h.ecosystem, h.record.id]),
      [['Debian:12', 'A-1']],
    );
    assert.deepEqual(db.find('glibc', ['Debian:13']), []);
    assert.deepEqual(
      db
        .find('glibc', [], ['Debian:'])
        .map((h) => h.record.id)
        .sort(),
      ['A-1', 'A-2'],
    );
    assert.equal(
      db.find('foo-bar', ['PyPI'])[0]?.record.id,
      'A-4',
      'PyPI names are indexed PEP 503-normalized',
    );

    const again = await db.transaction(async (w) => [
      // Same modified, same content: unchanged.
      w.put(record('A-1', '2025-01-01T00:00:00Z', 'Debian:12', 'glibc', { summary: 'first' })),
      // Older: the stored copy stays.
      w.put(record('A-2', '2024-12-31T00:00:00Z', 'Debian:11', 'glibc', { summary: 'older' })),
      // Newer: replaces, and the index follows the new package.
      w.put(record('A-3', '2025-02-01T00:00:00Z', 'npm', 'zod-fork')),
      // Equal modified, different content: replaces.
      w.put(record('A-1', '2025-01-01T00:00:00Z', 'Debian:12', 'glibc', { summary: 'second' })),
    ]);
    assert.deepEqual(again, ['unchanged', 'unchanged', 'updated', 'updated']);
    assert.equal(db.get('A-1')?.summary, 'second');
    assert.equal(db.get('A-2')?.summary, undefined);
    assert.deepEqual(db.find('zod', ['npm']), []);
    assert.equal(db.find('zod-fork', ['npm'])[0]?.record.id, 'A-3');
  });

  test('a withdrawn copy replaces the record and is no longer found; an older live copy cannot bring it back', async (t) => {
    const dir = await tempDir(t);
    const db = openAdvisoryDb(join(dir, 'osv.sqlite'));
    t.after(() => db.close());
    await db.transaction(async (w) => w.put(record('W-1', '2025-01-01T00:00:00Z', 'Debian:12', 'gzip')));
    assert.equal(db.find('gzip', ['Debian:12']).length, 1);
    await db.transaction(async (w) =>
      w.put(
        record('W-1', '2025-02-01T00:00:00Z', 'Debian:12', 'gzip', { withdrawn: '2025-02-01T00:00:00Z' }),
      ),
    );
    assert.deepEqual(db.find('gzip', ['Debian:12']), []);
    assert.equal(db.get('W-1'), undefined);
    await db.transaction(async (w) => w.put(record('W-1', '2025-01-01T00:00:00Z', 'Debian:12', 'gzip')));
    assert.deepEqual(db.find('gzip', ['Debian:12']), []);
    assert.equal(db.status().withdrawn, 1);
  });

  test('a failed import leaves the database as it was', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'osv.sqlite');
    const db = openAdvisoryDb(path);
    await db.transaction(async (w) => w.put(record('K-1', '2025-01-01T00:00:00Z', 'npm', 'zod')));
    await assert.rejects(
      db.transaction(async (w) => {
        w.put(record('K-2', '2025-01-01T00:00:00Z', 'npm', 'zod'));
        w.put(record('K-1', '2025-03-01T00:00:00Z', 'npm', 'other'));
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('killed halfway');
      }),
      /killed halfway/,
    );
    assert.deepEqual(
      db.find('zod', ['npm']).map((h) => h.record.id),
      ['K-1'],
    );
    db.close();
    const reopened = openAdvisoryDb(path, { mustExist: true });
    t.after(() => reopened.close());
    assert.equal(reopened.status().records, 1);
  });

  test('status: per-ecosystem counts, newest modified, totals and path', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'osv.sqlite');
    const db = openAdvisoryDb(path);
    t.after(() => db.close());
    assert.deepEqual(db.status(), { path, records: 0, withdrawn: 0, ecosystems: [] });
    await db.transaction(async (w) => {
      w.put(record('S-1', '2025-01-01T00:00:00Z', 'Debian:12', 'a'));
      w.put(record('S-2', '2025-03-01T10:00:00Z', 'Debian:12', 'b'));
      w.put(record('S-3', '2025-02-01T00:00:00Z', 'npm', 'c', { withdrawn: '2025-02-01T00:00:00Z' }));
    });
    const status = db.status();
    assert.equal(status.path, path);
    assert.equal(status.records, 3);
    assert.equal(status.withdrawn, 1);
    assert.equal(status.newestModified, '2025-03-01T10:00:00.000Z');
    assert.ok(status.lastImport && Date.now() - Date.parse(status.lastImport) < 60_000);
    assert.deepEqual(status.ecosystems, [
      { ecosystem: 'Debian:12', records: 2, withdrawn: 0, newestModified: '2025-03-01T10:00:00.000Z' },
      { ecosystem: 'npm', records: 1, withdrawn: 1, newestModified: '2025-02-01T00:00:00.000Z' },
    ]);
  });

  test('a missing database when one must exist, and a file that is not one, are stable errors', async (t) => {
    const dir = await tempDir(t);
    assert.throws(
      () => openAdvisoryDb(join(dir, 'none.sqlite'), { mustExist: true }),
      (e: unknown) => e instanceof BerthError && e.code === 'ADVISORY_DB_MISSING',
    );
    assert.ok(!existsSync(join(dir, 'none.sqlite')));
    const junk = join(dir, 'junk.sqlite');
    writeFileSync(junk, 'this is not an SQLite database, not even close, just some text to fill a page');
    assert.throws(
      () => openAdvisoryDb(junk),
      (e: unknown) => e instanceof BerthError && e.code === 'ADVISORY_DB_INVALID',
    );
  });
});

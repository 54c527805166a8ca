import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../../test/support/temp.js';
import { requireTools } from '../../../test/support/tool-gate.js';
import { BerthError } from '../../oci/errors.js';
import { openAdvisoryDb } from './advisory-db.js';
import { importAdvisories } from './advisory-import.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/osv/', import.meta.url));
const RECORDS = join(FIXTURES, 'records');
const MALFORMED = join(FIXTURES, 'malformed');
const RECORD_FILES = readdirSync(RECORDS).filter((f) => f.endsWith('.json'));
const MALFORMED_FILES = readdirSync(MALFORMED).filter((f) => f.endsWith('.json'));

/** A zip made by Python's zipfile command line (entries stored), as the lead's end-to-end tests make them. */
function zip(target: string, folder: string, files: string[]): void {
  execFileSync('python3', ['-m', 'zipfile', '-c', target, ...files], { cwd: folder });
}

/** A deflated zip, as osv.dev's all.zip is: flat `ID.json` entries. */
function deflatedZip(target: string, folder: string, files: string[]): void {
  const script =
    'import sys, zipfile\n' +
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
    '    for name in sys.argv[2:]: z.write(name)\n';
  execFileSync('python3', ['-c', script, target, ...files], { cwd: folder });
}

async function freshDb(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const db = openAdvisoryDb(join(dir, 'db', 'osv.sqlite'));
  t.after(() => db.close());
  return { dir, db };
}

function issueNames(issues: { code: string; path?: string }[]): string[] {
  return issues.map((i) => `${i.code} ${i.path?.replace(/^.*[/!]/, '')}`).sort();
}

// The zips are made by Python's zipfile, an implementation independent of ours.
const python = await requireTools('python3');

describe('advisory import', () => {
  test('a folder, recursively: good records in, malformed ones skipped and reported, import continues', async (t) => {
    const { dir, db } = await freshDb(t);
    const folder = join(dir, 'tree');
    mkdirSync(join(folder, 'records'), { recursive: true });
    mkdirSync(join(folder, 'malformed', 'deeper'), { recursive: true });
    for (const f of RECORD_FILES) copyFileSync(join(RECORDS, f), join(folder, 'records', f));
    for (const f of MALFORMED_FILES) copyFileSync(join(MALFORMED, f), join(folder, 'malformed', f));
    writeFileSync(
      join(folder, 'malformed', 'deeper', 'truncated.json'),
      '{"id": "BERTH-TEST-BAD-0001", "modif',
    );
    writeFileSync(join(folder, 'notes.txt'), 'not a record, not read');
    const result = await importAdvisories(db, folder);
    assert.equal(result.imported, RECORD_FILES.length);
    assert.equal(result.withdrawn, 1);
    assert.equal(result.skipped, MALFORMED_FILES.length + 1);
    assert.deepEqual(
      issueNames(result.issues),
      [...MALFORMED_FILES, 'truncated.json'].map((f) => `ADVISORY_INVALID ${f}`).sort(),
    );
    const truncated = result.issues.find((i) => i.path?.endsWith('truncated.json'));
    assert.match(truncated?.message ?? '', /not JSON/);
    const event = result.issues.find((i) => i.path?.endsWith('two-kinds-in-one-event.json'));
    assert.match(event?.message ?? '', /affected\.0\.ranges\.0\.events\.0: an event holds exactly one/);
    assert.equal(db.status().records, RECORD_FILES.length);
    assert.equal(db.find('glibc', ['Debian:12'])[0]?.record.id, 'BERTH-TEST-DEB-0001');
  });

  test('re-importing is idempotent; a newer copy updates', async (t) => {
    const { dir, db } = await freshDb(t);
    await importAdvisories(db, RECORDS);
    const again = await importAdvisories(db, RECORDS);
    assert.deepEqual(
      { ...again, issues: again.issues.length },
      {
        source: RECORDS,
        imported: 0,
        updated: 0,
        unchanged: RECORD_FILES.length,
        skipped: 0,
        withdrawn: 0,
        issues: 0,
      },
    );
    const original = JSON.parse(readFileSync(join(RECORDS, 'BERTH-TEST-NPM-0001.json'), 'utf8'));
    const newer = { ...original, modified: '2030-01-01T00:00:00Z', summary: 'revised' };
    const older = { ...original, modified: '2001-01-01T00:00:00Z', summary: 'stale' };
    writeFileSync(join(dir, 'newer.json'), JSON.stringify(newer));
    writeFileSync(join(dir, 'older.json'), JSON.stringify(older));
    const updated = await importAdvisories(db, join(dir, 'newer.json'));
    assert.equal(updated.updated, 1);
    const stale = await importAdvisories(db, join(dir, 'older.json'));
    assert.equal(stale.unchanged, 1);
    assert.equal(db.get('BERTH-TEST-NPM-0001')?.summary, 'revised');
  });

  test('a zip as osv.dev exports it, read entry by entry, with a malformed entry reported by name', {
    skip: python.skip,
  }, async (t) => {
    const { dir, db } = await freshDb(t);
    const staging = join(dir, 'staging');
    mkdirSync(staging);
    for (const f of RECORD_FILES) copyFileSync(join(RECORDS, f), join(staging, f));
    copyFileSync(join(MALFORMED, 'missing-modified.json'), join(staging, 'BERTH-TEST-BAD-0002.json'));
    writeFileSync(join(staging, 'README.txt'), 'not a record');
    const archive = join(dir, 'all.zip');
    zip(archive, staging, readdirSync(staging));
    const result = await importAdvisories(db, archive);
    assert.equal(result.imported, RECORD_FILES.length);
    assert.equal(result.skipped, 1);
    assert.equal(result.issues[0]?.code, 'ADVISORY_INVALID');
    assert.equal(result.issues[0]?.path, `${archive}!BERTH-TEST-BAD-0002.json`);
    assert.match(result.issues[0]?.message ?? '', /modified/);
    assert.equal(db.find('zod', ['npm']).length, 2);
  });

  test('a deflated zip; an entry whose data is damaged is reported and the others still go in', {
    skip: python.skip,
  }, async (t) => {
    const { dir, db } = await freshDb(t);
    const archive = join(dir, 'all.zip');
    deflatedZip(archive, RECORDS, RECORD_FILES);
    const good = await importAdvisories(db, archive);
    assert.equal(good.imported, RECORD_FILES.length);

    const { db: other } = await freshDb(t);
    const bytes = readFileSync(archive);
    const victim = 'BERTH-TEST-DEB-0003.json';
    // The first occurrence of the name is the local header; its compressed data follows right after.
    const at = bytes.indexOf(Buffer.from(victim)) + victim.length;
    for (let i = at + 4; i < at + 40; i++) bytes[i] = 0xff;
    const damaged = join(dir, 'damaged.zip');
    writeFileSync(damaged, bytes);
    const result = await importAdvisories(other, damaged);
    assert.equal(result.imported, RECORD_FILES.length - 1);
    assert.equal(result.skipped, 1);
    assert.equal(result.issues[0]?.path, `${damaged}!${victim}`);
    assert.match(result.issues[0]?.message ?? '', /cannot be read/);
  });

  test('a zip is recognized by its bytes, whatever its name', { skip: python.skip }, async (t) => {
    const { dir, db } = await freshDb(t);
    const archive = join(dir, 'advisories.bin');
    zip(archive, RECORDS, ['BERTH-TEST-PYPI-0001.json', 'BERTH-TEST-PYPI-0002.json']);
    const result = await importAdvisories(db, archive);
    assert.equal(result.imported, 2);
  });

  test('one JSON file holding one record, or an array with a bad member', async (t) => {
    const { dir, db } = await freshDb(t);
    const single = await importAdvisories(db, join(RECORDS, 'BERTH-TEST-DEB-0005.json'));
    assert.equal(single.imported, 1);
    const list = [
      JSON.parse(readFileSync(join(RECORDS, 'BERTH-TEST-DEB-0001.json'), 'utf8')),
      { id: 'BROKEN', modified: 'yesterday' },
      JSON.parse(readFileSync(join(RECORDS, 'BERTH-TEST-DEB-0002.json'), 'utf8')),
    ];
    writeFileSync(join(dir, 'list.json'), JSON.stringify(list));
    const result = await importAdvisories(db, join(dir, 'list.json'));
    assert.equal(result.imported, 2);
    assert.equal(result.skipped, 1);
    assert.equal(result.issues[0]?.path, `${join(dir, 'list.json')}[1]`);
    assert.match(result.issues[0]?.message ?? '', /modified: not an RFC 3339 timestamp/);
  });

  test('a missing path and a corrupt zip are errors with stable codes, and nothing is stored', {
    skip: python.skip,
  }, async (t) => {
    const { dir, db } = await freshDb(t);
    await assert.rejects(
      importAdvisories(db, join(dir, 'nowhere')),
      (e: unknown) => e instanceof BerthError && e.code === 'ADVISORY_SOURCE_MISSING',
    );
    const garbage = join(dir, 'garbage.zip');
    writeFileSync(garbage, 'PK\u0003\u0004 this is no zip at all, just some bytes pretending');
    await assert.rejects(
      importAdvisories(db, garbage),
      (e: unknown) => e instanceof BerthError && e.code === 'ADVISORY_ARCHIVE_INVALID',
    );
    // Cut off before the central directory: the entries that were read are rolled back with the rest.
    const whole = join(dir, 'whole.zip');
    zip(whole, RECORDS, RECORD_FILES);
    const bytes = readFileSync(whole);
    const cut = join(dir, 'cut.zip');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 200));
    await assert.rejects(
      importAdvisories(db, cut),
      (e: unknown) => e instanceof BerthError && e.code === 'ADVISORY_ARCHIVE_INVALID',
    );
    assert.equal(db.status().records, 0);
  });

  test('an aborted import stores nothing', async (t) => {
    const { db } = await freshDb(t);
    const controller = new AbortController();
    await assert.rejects(
      importAdvisories(db, RECORDS, {
        signal: controller.signal,
        onRecord: (n) => {
          if (n === 3) controller.abort();
        },
      }),
      { name: 'AbortError' },
    );
    assert.equal(db.status().records, 0);
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  inventoryInputFromDir,
  scanFixtures,
  scanFixturesGate,
} from '../../../test/support/scan-fixtures.js';
import type { InventoryFile } from '../types.js';
import { parseRpmHeader, readRpmDatabase, sourceNameFromSourceRpm } from './rpm-reader.js';

const fedora = { id: 'fedora', versionId: '40' };
const DB_PATH = '/var/lib/rpm/rpmdb.sqlite';

function dbFile(content: Buffer): InventoryFile {
  return { path: DB_PATH, content, layerIndex: 1, layerDigest: 'sha256:rpm' };
}

/** An SQLite rpmdb holding the given blobs, as bytes. */
function rpmdbWith(blobs: Buffer[]): Buffer {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
  for (const blob of blobs) insert.run(blob);
  const bytes = db.serialize();
  db.close();
  return bytes;
}

describe('the SQLite rpmdb made by Debian rpm', { skip: scanFixturesGate.skip }, () => {
  let content: Buffer;
  let blobs: Buffer[];
  before(async () => {
    const fixtures = await scanFixtures();
    const input = await inventoryInputFromDir(fixtures.rpmRoot);
    const file = input.files.get(DB_PATH);
    assert.ok(file, 'rpmdb.sqlite kept by isInventoryFile');
    content = file.content;
    const copy = Buffer.from(content);
    copy[18] = 1;
    copy[19] = 1;
    const db = new Database(copy, { readonly: true });
    blobs = (db.prepare('SELECT blob FROM Packages').all() as { blob: Buffer }[]).map((r) => r.blob);
    db.close();
  });

  test('names, epochs, tilde versions, source rpms, licenses and purls', () => {
    const result = readRpmDatabase(dbFile(content), fedora);
    assert.deepEqual(result.issues, []);
    const byName = new Map(result.packages.map((p) => [p.name, p]));
    assert.deepEqual([...byName.keys()].sort(), [
      'berth-epoch-tool',
      'berth-suite',
      'berth-suite-data',
      'berth-tilde-lib',
    ]);
    const epoch = byName.get('berth-epoch-tool');
    assert.equal(epoch?.version, '2:1.0.3-4');
    assert.equal(epoch?.purl, 'pkg:rpm/fedora/berth-epoch-tool@1.0.3-4?arch=noarch&distro=fedora-40&epoch=2');
    assert.equal(epoch?.supplier, 'Berth Tests');
    assert.deepEqual(epoch?.licenses, ['MIT']);
    const tilde = byName.get('berth-tilde-lib');
    assert.equal(tilde?.version, '2.0~rc1-1');
    assert.equal(tilde?.purl, 'pkg:rpm/fedora/berth-tilde-lib@2.0~rc1-1?arch=noarch&distro=fedora-40');
    assert.deepEqual(tilde?.licenses, ['Apache-2.0 OR MIT']);
    const data = byName.get('berth-suite-data');
    assert.equal(data?.sourceName, 'berth-suite');
    assert.equal(data?.sourceVersion, '0.9-7');
    assert.equal(data?.description, 'Data files of the suite');
    assert.equal(data?.arch, 'noarch');
    assert.equal(data?.location, DB_PATH);
    assert.equal(data?.layerDigest, 'sha256:rpm');
  });

  test('a corrupt header blob is an issue for that row; the others are read', () => {
    const [first, ...rest] = blobs;
    assert.ok(first);
    const corrupt = Buffer.from(first);
    corrupt.writeUInt32BE(0x7fffffff, 4); // data size far past the blob
    const result = readRpmDatabase(dbFile(rpmdbWith([corrupt, ...rest])), fedora);
    assert.equal(result.packages.length, rest.length);
    assert.equal(result.issues.length, 1);
    assert.equal(result.issues[0]?.code, 'RPM_HEADER_INVALID');
    assert.equal(result.issues[0]?.path, DB_PATH);
  });

  test('every truncation and many byte flips of real headers are handled without a throw', () => {
    for (const blob of blobs) {
      for (let size = 0; size < blob.length; size += 7) {
        const parsed = parseRpmHeader(blob.subarray(0, size));
        assert.equal(typeof parsed, 'string', `truncated to ${size} bytes must be rejected`);
      }
      let seed = 12345;
      for (let round = 0; round < 500; round++) {
        const copy = Buffer.from(blob);
        for (let flips = 0; flips < 4; flips++) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          copy[seed % copy.length] = seed & 0xff;
        }
        parseRpmHeader(copy);
      }
    }
    // An offset pointing past the data store is caught by the bounds check.
    const blob = Buffer.from(blobs[0] as Buffer);
    const count = blob.readUInt32BE(0);
    for (let i = 0; i < count; i++) {
      if (blob.readUInt32BE(8 + i * 16) === 1000) blob.writeUInt32BE(0xfffffff0, 8 + i * 16 + 8);
    }
    assert.match(String(parseRpmHeader(blob)), /offset/);
  });

  test('a database that is not SQLite, or has no Packages table, is one issue', () => {
    const notSqlite = readRpmDatabase(
      dbFile(Buffer.from('this is not an sqlite database'.repeat(10))),
      fedora,
    );
    assert.deepEqual(
      notSqlite.issues.map((i) => [i.code, i.path]),
      [['RPMDB_INVALID', DB_PATH]],
    );
    const truncated = readRpmDatabase(dbFile(content.subarray(0, 4096)), fedora);
    assert.equal(truncated.packages.length, 0);
    assert.equal(truncated.issues[0]?.code, 'RPMDB_INVALID');
    const db = new Database(':memory:');
    db.exec('CREATE TABLE Other (x)');
    const noTable = readRpmDatabase(dbFile(db.serialize()), fedora);
    db.close();
    assert.equal(noTable.issues[0]?.code, 'RPMDB_INVALID');
  });
});

test('source rpm names lose their version, release and suffix', () => {
  assert.equal(sourceNameFromSourceRpm('glibc-2.39-17.fc40.src.rpm'), 'glibc');
  assert.equal(sourceNameFromSourceRpm('python-pip-23.3.2-1.fc40.src.rpm'), 'python-pip');
  assert.equal(sourceNameFromSourceRpm('x-1.0~rc1-1.nosrc.rpm'), 'x');
  assert.equal(sourceNameFromSourceRpm('nonsense'), undefined);
});

test('a hand-made header: int32 epoch, i18n summary, no offset outside the data', () => {
  const strings = Buffer.from('pkg\x001.0\x003\x00Summary text\x00', 'latin1');
  const data = Buffer.concat([Buffer.alloc(4), strings]);
  data.writeInt32BE(0, 0); // epoch 0 is a real epoch, written as 0:
  const entries: [number, number, number, number][] = [
    [1003, 4, 0, 1],
    [1000, 6, 4, 1],
    [1001, 6, 8, 1],
    [1002, 6, 12, 1],
    [1004, 9, 14, 1],
  ];
  const index = Buffer.alloc(8 + entries.length * 16);
  index.writeUInt32BE(entries.length, 0);
  index.writeUInt32BE(data.length, 4);
  entries.forEach(([tag, type, offset, count], i) => {
    index.writeUInt32BE(tag, 8 + i * 16);
    index.writeUInt32BE(type, 12 + i * 16);
    index.writeUInt32BE(offset, 16 + i * 16);
    index.writeUInt32BE(count, 20 + i * 16);
  });
  const header = parseRpmHeader(Buffer.concat([index, data]));
  assert.deepEqual(header, { name: 'pkg', version: '1.0', release: '3', epoch: 0, summary: 'Summary text' });
  // A string whose terminator was cut off.
  assert.match(
    String(parseRpmHeader(Buffer.concat([index, data]).subarray(0, index.length + data.length - 1))),
    /past|terminator/,
  );
});

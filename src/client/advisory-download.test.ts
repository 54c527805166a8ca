import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startOsvMirror } from '../../test/support/osv-mirror.js';
import { tempDir } from '../../test/support/temp.js';
import { zipArchive } from '../../test/support/zip-writer.js';
import { BerthError } from '../oci/errors.js';
import { openAdvisoryDb } from '../scan/osv/advisory-db.js';
import { parseMirrorUrl, updateAdvisoryDb } from './advisory-download.js';
import { httpTransport } from './transport/http-transport.js';

const RECORDS = fileURLToPath(new URL('../../test/fixtures/osv/records/', import.meta.url));

async function npmArchive(): Promise<Buffer> {
  const files = (await readdir(RECORDS)).filter((f) => f.startsWith('BERTH-TEST-NPM-'));
  return zipArchive(
    await Promise.all(files.map(async (name) => ({ name, data: await readFile(join(RECORDS, name)) }))),
  );
}

const md5Hex = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

async function setUp(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const mirror = await startOsvMirror();
  const transport = httpTransport({ tls: () => ({ verify: true }) });
  t.after(async () => {
    await transport.close();
    await mirror.close();
  });
  const archive = await npmArchive();
  mirror.archives.set('/npm/all.zip', archive);
  const dbPath = join(dir, 'osv.sqlite');
  const run = () =>
    updateAdvisoryDb({ dbPath, ecosystems: ['npm'], mirror: parseMirrorUrl(mirror.url), transport });
  const records = () => {
    const db = openAdvisoryDb(dbPath);
    try {
      return db.status().records;
    } finally {
      db.close();
    }
  };
  return { dir, mirror, archive, dbPath, transport, downloads: `${dbPath}.downloads`, run, records };
}

describe('advisory download', () => {
  test('a second update of the same database while one runs is refused; a lock left by a dead process is taken over', async (t) => {
    const s = await setUp(t);
    await mkdir(s.downloads, { recursive: true });
    // The test runner (this process's parent) is alive: its lock stands.
    await writeFile(join(s.downloads, 'update.lock'), `${process.ppid}\n`);
    await assert.rejects(
      s.run(),
      (e: unknown) =>
        e instanceof BerthError && e.code === 'ADVISORY_UPDATE_BUSY' && /process \d+/.test(e.message),
    );
    assert.equal(s.mirror.requests.length, 0, 'nothing downloaded');
    const child = execFile(process.execPath, ['-e', '']);
    await once(child, 'exit');
    await writeFile(join(s.downloads, 'update.lock'), `${child.pid}\n`);
    const [npm] = await s.run();
    assert.equal(npm?.imported, 4);
    assert.deepEqual(await readdir(s.downloads), [], 'the lock is released');
  });

  test('an update interrupted while importing keeps the verified archive; the next run imports it without a request', async (t) => {
    const s = await setUp(t);
    const controller = new AbortController();
    await assert.rejects(
      updateAdvisoryDb({
        dbPath: s.dbPath,
        ecosystems: ['npm'],
        mirror: parseMirrorUrl(s.mirror.url),
        transport: s.transport,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.phase === 'import') controller.abort();
        },
      }),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
    assert.equal(s.records(), 0, 'the import was rolled back');
    assert.equal(s.mirror.requests.length, 1);
    const [npm] = await s.run();
    assert.equal(s.mirror.requests.length, 1, 'no second download');
    assert.deepEqual([npm?.imported, npm?.md5Verified, npm?.resumedAt], [4, true, s.archive.length]);
    assert.deepEqual(await readdir(s.downloads), []);
  });

  test('an archive unchanged since its import (same ETag) is not downloaded again; a changed one is', async (t) => {
    const s = await setUp(t);
    assert.equal((await s.run())[0]?.imported, 4);
    const [same] = await s.run();
    assert.equal(s.mirror.requests[1]?.ifNoneMatch, `"${md5Hex(s.archive)}"`);
    assert.deepEqual([same?.notModified, same?.bytes, same?.imported], [true, 0, 0]);
    const changed = zipArchive([
      { name: 'BERTH-TEST-NPM-0001.json', data: await readFile(join(RECORDS, 'BERTH-TEST-NPM-0001.json')) },
    ]);
    s.mirror.archives.set('/npm/all.zip', changed);
    const [next] = await s.run();
    assert.deepEqual([next?.notModified, next?.bytes, next?.unchanged], [false, changed.length, 1]);
  });
});

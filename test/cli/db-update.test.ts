import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type OsvMirror, startOsvMirror } from '../support/osv-mirror.js';
import { tempDir } from '../support/temp.js';
import { zipArchive } from '../support/zip-writer.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const RECORDS = fileURLToPath(new URL('../fixtures/osv/records/', import.meta.url));

// The caller's own database settings must not leak into these tests.
const inherited = { ...process.env };
delete inherited.BERTH_ADVISORY_DB;
delete inherited.BERTH_DATA;
delete inherited.XDG_DATA_HOME;

/** OSV's layout: one all.zip per ecosystem of the fixture records, `ID.json` entries. */
async function fixtureArchives(): Promise<Map<string, Buffer>> {
  const byEcosystem = new Map<string, { name: string; data: Buffer }[]>();
  for (const file of (await readdir(RECORDS)).sort()) {
    const data = await readFile(join(RECORDS, file));
    const record = JSON.parse(data.toString('utf8')) as { affected: { package: { ecosystem: string } }[] };
    const ecosystem = (record.affected[0]?.package.ecosystem ?? '').split(':')[0] as string;
    byEcosystem.set(ecosystem, [...(byEcosystem.get(ecosystem) ?? []), { name: file, data }]);
  }
  return new Map(
    [...byEcosystem].map(([ecosystem, entries]) => [`/${ecosystem}/all.zip`, zipArchive(entries)]),
  );
}

const ARCHIVES = await fixtureArchives();
const DEBIAN = ARCHIVES.get('/Debian/all.zip') as Buffer;
const DEBIAN_RECORDS = 10;

interface Env {
  home: string;
  db: string;
  env: NodeJS.ProcessEnv;
  mirror: OsvMirror;
}

/** A mirror with the fixture archives and a user whose home and data folder are temporary. */
async function setUp(t: Parameters<typeof tempDir>[0]): Promise<Env> {
  const home = await tempDir(t);
  const mirror = await startOsvMirror();
  t.after(() => mirror.close());
  for (const [path, bytes] of ARCHIVES) mirror.archives.set(path, bytes);
  const env = { HOME: home, XDG_DATA_HOME: join(home, 'data') };
  return { home, db: join(home, 'data', 'berth', 'advisories', 'osv.sqlite'), env, mirror };
}

async function berth(s: Env, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', TSX, CLI, ...args], {
      env: { ...inherited, ...s.env },
      cwd: s.home,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const update = (s: Env, ...more: string[]) =>
  berth(s, ['db', 'update', '--mirror', s.mirror.url, '--ecosystem', 'Debian', ...more]);

async function records(s: Env): Promise<number> {
  const status = await berth(s, ['db', 'status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  return (JSON.parse(status.stdout) as { records: number }).records;
}

describe('berth db update', () => {
  test('downloads Debian, npm and PyPI from the mirror into the user data folder and imports them', async (t) => {
    const s = await setUp(t);
    const run = await berth(s, [
      'db',
      'update',
      '--mirror',
      s.mirror.url,
      '--ecosystem',
      'debian,npm,PyPI',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const answer = JSON.parse(run.stdout) as {
      db: string;
      ecosystems: {
        ecosystem: string;
        imported: number;
        md5Verified: boolean;
        bytes: number;
        resumedAt: number;
      }[];
    };
    assert.equal(answer.db, s.db);
    assert.deepEqual(
      answer.ecosystems.map((e) => [e.ecosystem, e.imported, e.md5Verified, e.resumedAt]),
      [
        ['Debian', DEBIAN_RECORDS, true, 0],
        ['npm', 4, true, 0],
        ['PyPI', 3, true, 0],
      ],
    );
    assert.equal(answer.ecosystems[0]?.bytes, DEBIAN.length);
    assert.deepEqual(
      s.mirror.requests.map((r) => [r.path, r.range]),
      [
        ['/Debian/all.zip', undefined],
        ['/npm/all.zip', undefined],
        ['/PyPI/all.zip', undefined],
      ],
    );
    assert.equal(await records(s), DEBIAN_RECORDS + 7);
    assert.deepEqual(await readdir(`${s.db}.downloads`), [], 'no download is left behind');
    assert.equal(existsSync(join(s.home, 'berth-data')), false, 'nothing under the working folder');

    // Again: the archive's ETag is the one imported, so it is not downloaded a second time.
    const again = await update(s);
    assert.equal(again.code, 0, again.stderr);
    assert.match(s.mirror.requests.at(-1)?.ifNoneMatch ?? '', /^"[0-9a-f]{32}"$/);
    assert.match(again.stdout, /^Debian: unchanged since the last update, not downloaded$/m);
    assert.match(again.stdout, new RegExp(`^advisory database: ${s.db}$`, 'm'));
  });

  test('a connection cut mid-file is resumed with a Range request in the same run', async (t) => {
    const s = await setUp(t);
    const half = Math.floor(DEBIAN.length / 2);
    s.mirror.next.push({ cutAfter: half });
    const run = await update(s, '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(s.mirror.requests.length, 2);
    assert.equal(s.mirror.requests[1]?.range, `bytes=${half}-`);
    assert.match(s.mirror.requests[1]?.ifRange ?? '', /^"[0-9a-f]{32}"$/);
    const [debian] = (JSON.parse(run.stdout) as { ecosystems: { imported: number; md5Verified: boolean }[] })
      .ecosystems;
    assert.deepEqual([debian?.imported, debian?.md5Verified], [DEBIAN_RECORDS, true]);
  });

  test('a download cut off in one run is kept beside the database and resumed by the next', async (t) => {
    const s = await setUp(t);
    const half = Math.floor(DEBIAN.length / 2);
    // The cut, then the mirror fails the retry: the run ends with the partial file kept.
    s.mirror.next.push({ cutAfter: half }, { status: 503 });
    const first = await update(s);
    assert.equal(first.code, 1);
    assert.match(
      first.stderr,
      /^berth: http:\/\/127\.0\.0\.1:\d+\/Debian\/all\.zip: the server answered 503\n$/,
    );
    assert.equal((await stat(join(`${s.db}.downloads`, 'Debian.zip.partial'))).size, half);
    assert.equal(await records(s), 0, 'the database is unchanged');

    const second = await update(s);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(s.mirror.requests.at(-1)?.range, `bytes=${half}-`);
    assert.match(second.stdout, /^Debian: .* downloaded, resumed at [\d.]+ KiB, MD5 checked; 10 imported/m);
    assert.equal(await records(s), DEBIAN_RECORDS);
  });

  test('a server that ignores Range restarts the file from the start cleanly', async (t) => {
    const s = await setUp(t);
    s.mirror.next.push({ cutAfter: 100 }, { status: 503 });
    assert.equal((await update(s)).code, 1);
    s.mirror.next.push({ ignoreRange: true });
    const second = await update(s, '--json');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(s.mirror.requests.at(-1)?.range, 'bytes=100-');
    const [debian] = (
      JSON.parse(second.stdout) as { ecosystems: { bytes: number; imported: number; resumedAt: number }[] }
    ).ecosystems;
    assert.deepEqual(
      [debian?.bytes, debian?.imported, debian?.resumedAt],
      [DEBIAN.length, DEBIAN_RECORDS, 0],
    );
  });

  test('an archive whose MD5 does not match x-goog-hash is discarded and nothing is imported', async (t) => {
    const s = await setUp(t);
    s.mirror.next.push({ md5: Buffer.alloc(16, 1).toString('base64') });
    const run = await update(s);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^berth: .*\/Debian\/all\.zip: the archive's MD5 is \S+ where the server published AQEBAQEBAQEBAQEBAQEBAQ==; the download was discarded\n$/,
    );
    assert.deepEqual(await readdir(`${s.db}.downloads`), []);
    assert.equal(await records(s), 0);
  });

  test('404 for an ecosystem the mirror lacks; an unknown ecosystem is refused before any request', async (t) => {
    const s = await setUp(t);
    const missing = await berth(s, ['db', 'update', '--mirror', s.mirror.url, '--ecosystem', 'Alpine']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^berth: http:\/\/127\.0\.0\.1:\d+\/Alpine\/all\.zip: not found \(404\): the mirror has no archive for Alpine\n$/,
    );
    const count = s.mirror.requests.length;
    const unknown = await berth(s, [
      'db',
      'update',
      '--mirror',
      s.mirror.url,
      '--ecosystem',
      'Debian,Debain',
    ]);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^berth: --ecosystem: "Debain" is not an ecosystem Berth matches \(known: Debian, /,
    );
    assert.equal(s.mirror.requests.length, count, 'nothing was requested');
    const plain = await berth(s, ['db', 'update', '--mirror', 'http://osv.example.com/']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^berth: --mirror: use an https:\/\/ URL/);
  });

  test('a bad zip with a matching MD5: one line naming the URL, the database unchanged', async (t) => {
    const s = await setUp(t);
    s.mirror.archives.set(
      '/Debian/all.zip',
      Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(300, 7)]),
    );
    const run = await update(s);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^berth: http:\/\/127\.0\.0\.1:\d+\/Debian\/all\.zip: not a readable zip archive .*; nothing was imported\n$/,
    );
    assert.deepEqual(await readdir(`${s.db}.downloads`), []);
    assert.equal(await records(s), 0);
  });

  test('scan without a database says where OSV data comes from', async (t) => {
    const s = await setUp(t);
    const status = await berth(s, ['db', 'status']);
    assert.match(
      status.stdout,
      /^no advisory database at .*\/data\/berth\/advisories\/osv\.sqlite \(download OSV's advisories with: berth db update\)$/m,
    );
    const scan = await berth(s, ['scan', 'oci:/nonexistent-layout:v1']);
    assert.equal(scan.code, 2);
    assert.match(scan.stderr, /berth db update/);
    assert.match(
      scan.stderr,
      /osv-vulnerabilities\.storage\.googleapis\.com\/<Ecosystem>\/all\.zip, with `berth db import PATH`/,
    );
  });
});

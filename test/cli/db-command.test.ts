import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../support/temp.js';
import { requireTools } from '../support/tool-gate.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// By location, so the CLI also starts from a temporary working folder.
const TSX = import.meta.resolve('tsx');
const RECORDS = fileURLToPath(new URL('../fixtures/osv/records/', import.meta.url));
const MALFORMED = fileURLToPath(new URL('../fixtures/osv/malformed/', import.meta.url));

// The caller's own database settings must not leak into these tests.
const inherited = { ...process.env };
delete inherited.BERTH_ADVISORY_DB;
delete inherited.BERTH_DATA;
delete inherited.XDG_DATA_HOME;

async function berth(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', TSX, CLI, ...args], {
      env: { ...inherited, ...env },
      cwd,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// The zip is made by Python's zipfile, an implementation independent of ours.
const python = await requireTools('python3');

const recordCount = (await readdir(RECORDS)).filter((f) => f.endsWith('.json')).length;

describe('berth db', () => {
  test('import a folder and a zip, then status, as text and as JSON', { skip: python.skip }, async (t) => {
    python.assertAvailable();
    const dir = await tempDir(t);
    const db = join(dir, 'osv.sqlite');
    const first = await berth(['db', 'import', RECORDS, '--db', db]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      new RegExp(`: ${recordCount} imported, 0 updated, 0 unchanged, 0 skipped, 1 withdrawn`),
    );

    const staging = join(dir, 'staging');
    await mkdir(staging);
    for (const f of await readdir(RECORDS)) await copyFile(join(RECORDS, f), join(staging, f));
    for (const f of await readdir(MALFORMED)) await copyFile(join(MALFORMED, f), join(staging, f));
    const zip = join(dir, 'all.zip');
    await promisify(execFile)('python3', ['-m', 'zipfile', '-c', zip, ...(await readdir(staging))], {
      cwd: staging,
    });
    const again = await berth(['db', 'import', zip, '--db', db, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const answer = JSON.parse(again.stdout);
    assert.equal(answer.db, db);
    assert.equal(answer.sources[0].unchanged, recordCount);
    assert.equal(answer.sources[0].skipped, 3);
    assert.deepEqual(
      answer.sources[0].issues.map((i: { code: string }) => i.code),
      ['ADVISORY_INVALID', 'ADVISORY_INVALID', 'ADVISORY_INVALID'],
    );

    const status = await berth(['db', 'status', '--db', db]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^advisory database: .*osv\.sqlite$/m);
    assert.match(status.stdout, new RegExp(`records: ${recordCount} \\(1 withdrawn\\)`));
    assert.match(status.stdout, /^Debian:12 +9 +1 +2025-03-01T12:00:00\.000Z$/m);
    assert.match(status.stdout, /^npm +4 +0 /m);
    const json = JSON.parse((await berth(['db', 'status', '--db', db, '--json'])).stdout);
    assert.equal(json.records, recordCount);
    assert.deepEqual(
      json.ecosystems.map((e: { ecosystem: string; records: number }) => `${e.ecosystem}=${e.records}`),
      ['Debian=1', 'Debian:12=9', 'PyPI=3', 'npm=4'],
    );
  });

  test('malformed records are listed on stderr and the rest imported (exit 0)', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'broken.json'), '{"id": "X", ');
    const result = await berth([
      'db',
      'import',
      join(dir, 'broken.json'),
      join(MALFORMED, 'missing-modified.json'),
      '--db',
      join(dir, 'osv.sqlite'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^skipped .*broken\.json: not JSON/m);
    assert.match(result.stderr, /^skipped .*missing-modified\.json: not an OSV record: modified/m);
  });

  test('the default location is the user data folder, not ./berth-data; BERTH_DATA and BERTH_ADVISORY_DB move it', async (t) => {
    const dir = await tempDir(t);
    const one = join(RECORDS, 'BERTH-TEST-DEB-0001.json');
    // Run from a working folder of its own: before, the database landed in <cwd>/berth-data.
    const work = join(dir, 'work');
    await mkdir(work);
    const user = { HOME: join(dir, 'home'), XDG_DATA_HOME: join(dir, 'xdg') };
    assert.equal((await berth(['db', 'import', one], user, work)).code, 0);
    assert.equal(
      JSON.parse((await berth(['db', 'status', '--json'], user, work)).stdout).path,
      join(dir, 'xdg', 'berth', 'advisories', 'osv.sqlite'),
    );
    assert.deepEqual(await readdir(work), [], 'nothing written to the working folder');
    const homeOnly = JSON.parse(
      (await berth(['db', 'status', '--json'], { HOME: user.HOME, XDG_DATA_HOME: '' }, work)).stdout,
    );
    assert.equal(homeOnly.path, join(dir, 'home', '.local', 'share', 'berth', 'advisories', 'osv.sqlite'));
    assert.equal(
      (await berth(['db', 'import', one], { ...user, BERTH_DATA: join(dir, 'elsewhere') })).code,
      0,
    );
    const moved = JSON.parse(
      (await berth(['db', 'status', '--json'], { ...user, BERTH_DATA: join(dir, 'elsewhere') })).stdout,
    );
    assert.deepEqual([moved.path, moved.records], [join(dir, 'elsewhere', 'advisories', 'osv.sqlite'), 1]);
    const env = JSON.parse(
      (await berth(['db', 'status', '--json'], { ...user, BERTH_ADVISORY_DB: join(dir, 'env.sqlite') }))
        .stdout,
    );
    assert.deepEqual([env.path, env.exists, env.records], [join(dir, 'env.sqlite'), false, 0]);
  });

  test('a missing path or a corrupt zip: non-zero exit and one line', async (t) => {
    const dir = await tempDir(t);
    const db = join(dir, 'osv.sqlite');
    const missing = await berth(['db', 'import', join(dir, 'nope.zip'), '--db', db]);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr, `berth: ${join(dir, 'nope.zip')}: no such file or folder\n`);
    const corrupt = join(dir, 'corrupt.zip');
    await writeFile(corrupt, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(300, 7)]));
    const bad = await berth(['db', 'import', corrupt, '--db', db]);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1, bad.stderr);
    assert.match(bad.stderr, /^berth: .*corrupt\.zip: not a readable zip archive/);
    const status = JSON.parse((await berth(['db', 'status', '--db', db, '--json'])).stdout);
    assert.equal(status.records, 0, 'nothing half-imported');
  });

  test('help has examples', async () => {
    const help = await berth(['db', 'import', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}\$ curl/);
    assert.match((await berth(['db', 'status', '--help'])).stdout, /\$ berth db status --db/);
  });
});

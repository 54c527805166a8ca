import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp.js';
import { publishFile, temporaryPathFor, writeAtomically } from './atomic-write.js';

test('writeAtomically replaces the whole file, sets its mode whatever the umask, and leaves no temporary file', async (t) => {
  const dir = await tempDir(t, 'berth-atomic-');
  const path = join(dir, 'nested', 'config.json');
  await writeAtomically(path, 'first');
  assert.equal(await readFile(path, 'utf8'), 'first');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700);
  await writeAtomically(path, Buffer.from('second'), { mode: 0o644 });
  assert.equal(await readFile(path, 'utf8'), 'second');
  assert.equal((await stat(path)).mode & 0o777, 0o644);
  assert.deepEqual(await readdir(join(dir, 'nested')), ['config.json']);
});

test('writeAtomically writes through a symlink, keeping the link', async (t) => {
  const dir = await tempDir(t, 'berth-atomic-');
  await writeFile(join(dir, 'real.json'), 'old');
  await symlink('real.json', join(dir, 'link.json'));
  await writeAtomically(join(dir, 'link.json'), 'new');
  assert.equal(await readFile(join(dir, 'real.json'), 'utf8'), 'new');
  assert.ok((await lstat(join(dir, 'link.json'))).isSymbolicLink());
});

test('concurrent writers of one file never share a temporary name, and the file holds one whole version', async (t) => {
  const dir = await tempDir(t, 'berth-atomic-');
  const path = join(dir, 'state.json');
  const versions = Array.from({ length: 16 }, (_, i) => `${String(i).repeat(10_000)}`);
  assert.equal(new Set(versions.map(() => temporaryPathFor(path))).size, versions.length);
  await Promise.all(versions.map((text) => writeAtomically(path, text)));
  assert.ok(versions.includes(await readFile(path, 'utf8')));
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('publishFile moves a finished temporary file to its name', async (t) => {
  const dir = await tempDir(t, 'berth-atomic-');
  await mkdir(join(dir, 'blobs'));
  const target = join(dir, 'blobs', 'data');
  const temp = temporaryPathFor(target);
  await writeFile(temp, 'bytes');
  await publishFile(temp, target);
  assert.equal(await readFile(target, 'utf8'), 'bytes');
  assert.deepEqual(await readdir(join(dir, 'blobs')), ['data']);
});

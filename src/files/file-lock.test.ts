import assert from 'node:assert/strict';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp.js';
import { withFileLock } from './file-lock.js';

const options = { staleMs: 60_000, waitMs: 30_000, busy: (path: string) => new Error(`busy: ${path}`) };

test('work under one lock never overlaps, and the lock file is gone afterwards', async (t) => {
  const dir = await tempDir(t, 'berth-lock-');
  const lock = join(dir, 'x.lock');
  let inside = 0;
  let most = 0;
  await Promise.all(
    [1, 2, 3].map(() =>
      withFileLock(
        lock,
        async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        },
        options,
      ),
    ),
  );
  assert.equal(most, 1);
  assert.deepEqual(await readdir(dir), []);
});

test('a lock left by a dead process is taken over once stale; a live one makes the waiter give up', async (t) => {
  const dir = await tempDir(t, 'berth-lock-');
  const lock = join(dir, 'x.lock');
  await writeFile(lock, '');
  await assert.rejects(
    withFileLock(lock, async () => 'never', { ...options, waitMs: 0 }),
    /busy: .*x\.lock/,
  );
  const old = new Date(Date.now() - 120_000);
  await utimes(lock, old, old);
  assert.equal(await withFileLock(lock, async () => 'ran', options), 'ran');
  assert.deepEqual(await readdir(dir), []);
});

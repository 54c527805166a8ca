import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';

/** A fresh temporary folder removed when the test ends (kept when BERTH_KEEP_TEMP is set, for debugging). */
export async function tempDir(
  t: TestContext | { after(fn: () => unknown): void },
  prefix = 'berth-',
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(async () => {
    if (!process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Where a test file's `before` hook registers cleanups. node:test runs an `after` registered inside a hook as
 * soon as that hook ends, which would delete a server's data folder before the first test; these run when
 * the file's tests are done. Call it at the top level of the file.
 */
export function fileScope(): { after(fn: () => unknown): void } {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return { after: (fn) => cleanups.push(fn) };
}

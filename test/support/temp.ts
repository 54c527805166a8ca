import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';

// Folders handed node:test's own `after`: removed when the test file's process exits. node:test runs an
// `after` registered inside a `before` hook as soon as that hook ends, which deleted servers' data folders
// before the first test; every file passes `{ after }` from its hooks, so it is handled here once.
const atExit: string[] = [];
process.on('exit', () => {
  if (process.env.BERTH_KEEP_TEMP) return;
  for (const dir of atExit) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder removed when the test ends (kept when BERTH_KEEP_TEMP is set, for debugging). */
export async function tempDir(
  t: TestContext | { after(fn: () => unknown): void },
  prefix = 'berth-',
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (t.after === after) {
    atExit.push(dir);
    return dir;
  }
  t.after(async () => {
    if (!process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Cleanups that run when the test file's tests are done: for folders made in a `before` hook. */
export function fileScope(): { after(fn: () => unknown): void } {
  return { after };
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

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

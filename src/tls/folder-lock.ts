// One start at a time on a data folder's TLS files: a lock file made with O_EXCL, removed when done.
import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../oci/errors.js';

const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

/** Two nodes starting at once on one data folder must not each make a CA and leave one's key beside the other's certificate. */
export async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(path, 'wx', 0o600)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(path).catch(() => undefined);
      // Making certificates takes milliseconds: a lock this old was left by a process that died.
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new BerthError(
          'TLS_CONFIG_INVALID',
          `another process holds ${path}; remove it if no Berth is starting on this data folder`,
        );
      }
      await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}

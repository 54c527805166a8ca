/**
 * A lock between processes that share a folder: a file created with O_EXCL, removed when the work is done. A lock
 * older than `staleMs` was left by a process that died and is taken over. A leaf module (node built-ins only).
 */
import { open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Work under the lock takes far less than this: a lock file this old belongs to no living process. */
  staleMs: number;
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  /** The error to throw when the wait is over (it names the lock file, so the operator can remove it). */
  busy: (path: string) => Error;
}

/** Polling interval while another process holds the lock: its work takes milliseconds. */
const POLL_MS = 50;

export async function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: FileLockOptions,
): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    try {
      await (await open(path, 'wx', 0o600)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException)?.code !== 'EEXIST') throw error;
      const held = await stat(path).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > options.staleMs) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw options.busy(path);
      await sleep(POLL_MS);
    }
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}

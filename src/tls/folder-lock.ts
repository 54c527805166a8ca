// One start at a time on a data folder's TLS files, through the one file lock of files/.
import { withFileLock } from '../files/file-lock.js';
import { BerthError } from '../oci/errors.js';

const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

/** Two nodes starting at once on one data folder must not each make a CA and leave one's key beside the other's certificate. */
export async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  // Making certificates takes milliseconds: a lock older than LOCK_STALE_MS was left by a process that died.
  return withFileLock(path, work, {
    staleMs: LOCK_STALE_MS,
    waitMs: LOCK_WAIT_MS,
    busy: () =>
      new BerthError(
        'TLS_CONFIG_INVALID',
        `another process holds ${path}; remove it if no Berth is starting on this data folder`,
      ),
  });
}

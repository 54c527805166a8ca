import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Temporary file in the target's folder, fsync, rename: readers see the old file or the new one, never
 * half of one. The file is private (0600, its folder 0700 when created). A symlinked target is written
 * through (as Docker does with config.json), and root editing another user's file leaves it theirs.
 */
export async function writeAtomically(path: string, text: string): Promise<void> {
  let target = path;
  try {
    target = await realpath(path);
  } catch {
    // not there yet (or a dangling link): write the path as given
  }
  const folder = dirname(target);
  const temp = join(folder, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const previous = await stat(target).catch(() => undefined);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, 0o600);
    if (previous && process.getuid?.() === 0 && (previous.uid !== 0 || previous.gid !== 0)) {
      await chown(temp, previous.uid, previous.gid);
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

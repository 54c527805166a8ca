/**
 * The one atomic write: a temporary file with a unique name in the target's folder, fsync, rename, fsync of the
 * folder. Readers see the old file or the whole new one, never half of one; two writers never share a temporary
 * file; after a crash the new name holds either nothing new or all of it. A leaf module (node built-ins only)
 * that every layer may import.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A name for a temporary file beside `target`, unique across processes and concurrent writers in one process,
 * hidden (dot first) and ending in `.tmp` so a sweep can recognise it.
 */
export function temporaryPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes a rename in `folder` durable; some filesystems refuse to fsync a folder, which is fine. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    await handle.close();
  }
}

/**
 * Publishes a complete temporary file (written by a stream, say) under its final name: fsync the file, rename,
 * fsync the folder. The temporary file must be in the target's folder, so the rename cannot cross filesystems.
 */
export async function publishFile(temp: string, target: string): Promise<void> {
  const handle = await open(temp, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await syncFolder(dirname(target));
}

export interface AtomicWriteOptions {
  /** The file's mode, whatever the umask (default 0600: most of what is written this way is private). */
  mode?: number;
  /** The mode of folders created on the way (default 0700). */
  folderMode?: number;
}

/**
 * Writes a whole file atomically. A symlinked target is written through (as Docker does with config.json), and
 * root rewriting another user's file leaves it theirs.
 */
export async function writeAtomically(
  path: string,
  content: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  let target = path;
  try {
    target = await realpath(path);
  } catch {
    // not there yet (or a dangling link): write the path as given
  }
  const folder = dirname(target);
  const temp = temporaryPathFor(target);
  try {
    await mkdir(folder, { recursive: true, mode: options.folderMode ?? 0o700 });
    const previous = await stat(target).catch(() => undefined);
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode);
    if (previous && process.getuid?.() === 0 && (previous.uid !== 0 || previous.gid !== 0)) {
      await chown(temp, previous.uid, previous.gid);
    }
    await rename(temp, target);
    await syncFolder(folder);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

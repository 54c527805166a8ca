import { mkdir, open, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { publishFile, temporaryPathFor } from '../files/atomic-write.js';
import { StorageError } from './storage-error.js';

const FILL_CHUNK = 1024 * 1024;

/**
 * Whether a driver's error means the disk has no room: ENOSPC or EDQUOT from the filesystem. (The metadata
 * store's own full-disk errors are recognised where they are met, in `registry/`.)
 */
export function isStorageFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Room kept back for deletes. SQLite needs free pages to record a delete, so on a full disk nothing could be
 * deleted: a file of `size` zero bytes holds that room while the disk fills, and is removed the first time
 * a write hits a full disk. From then on new content is refused (StorageError `full`) while deletes and reads
 * use the freed room; once the disk has twice the reserve free again (GC or an operator freed space), the
 * reserve is made again and writes are let through. A size of 0 turns the reserve off; full disks are still
 * refused the same way.
 */
export class StorageReserve {
  private full = false;
  private recovering: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly size: number,
    private readonly log: Logger,
  ) {}

  /** Whether new content is being refused because the disk filled up. */
  get isFull(): boolean {
    return this.full;
  }

  /** Makes the reserve at start, unless it is already there at its size; a disk already full is noted. */
  async ensure(): Promise<void> {
    if (this.size === 0) return;
    const existing = await stat(this.path).catch(() => undefined);
    if (existing?.isFile() && existing.size === this.size) return;
    if (!(await this.fill())) this.markFull('start');
  }

  /** A write hit a full disk: free the reserve so deletes can be recorded, and refuse new content. */
  async release(where: string): Promise<void> {
    if (this.full) return;
    this.markFull(where);
    await rm(this.path, { force: true });
  }

  /**
   * Lets a write of new content through, or throws StorageError `full` while the disk is full. When space has come
   * back, the reserve is made again first.
   */
  async admitWrite(): Promise<void> {
    if (!this.full) return;
    this.recovering ??= this.recover().finally(() => {
      this.recovering = undefined;
    });
    await this.recovering;
    if (this.full) throw new StorageError('full');
  }

  private markFull(where: string): void {
    this.full = true;
    // Once per episode, not per request: a full disk refuses many requests.
    this.log.warn(
      { reserve: this.path, reserveBytes: this.size, where },
      'storage full: new content refused until space is freed; reserve released for deletes',
    );
  }

  private async recover(): Promise<void> {
    const free = await freeBytes(dirname(this.path));
    if (free < 2 * this.size || free === 0) return;
    if (this.size > 0 && !(await this.fill())) return;
    this.full = false;
    this.log.info({ freeBytes: free, reserve: this.path }, 'storage space available again: writes accepted');
  }

  /** Writes the reserve as real zero bytes (a sparse file would hold no room); false when the disk is full. */
  private async fill(): Promise<boolean> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = temporaryPathFor(this.path);
    try {
      const handle = await open(temporary, 'w');
      try {
        const zeros = Buffer.alloc(Math.min(FILL_CHUNK, this.size));
        for (let written = 0; written < this.size; ) {
          const length = Math.min(zeros.length, this.size - written);
          const { bytesWritten } = await handle.write(zeros, 0, length, written);
          written += bytesWritten;
        }
      } finally {
        await handle.close();
      }
      await publishFile(temporary, this.path);
      return true;
    } catch (error) {
      await rm(temporary, { force: true });
      if (isStorageFullError(error)) return false;
      throw error;
    }
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

import { createWriteStream } from 'node:fs';
import { mkdir, open, opendir, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { publishFile } from '../files/atomic-write.js';
import { FileRangeStream } from './file-range-stream.js';
import type { ByteRange, ObjectDriver, ObjectInfo } from './object-driver.js';

/** Objects as files under a root folder. Publishing is fsync then rename, which POSIX makes atomic. */
export class FsDriver implements ObjectDriver {
  readonly name = 'filesystem';
  constructor(private readonly root: string) {}

  private full(path: string): string {
    if (path.split('/').some((part) => part === '..'))
      throw new Error(`path escapes the storage root: ${path}`);
    return join(this.root, ...path.split('/'));
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.full(path));
      if (!s.isFile()) return undefined;
      return { path, size: s.size, modified: s.mtime };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(path: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    // Open first so that a missing file fails here, not later inside the response stream.
    const handle = await open(this.full(path), 'r');
    const end = range?.end ?? (await handle.stat()).size - 1;
    const stream = new FileRangeStream(handle, range?.start ?? 0, end);
    if (signal) {
      if (signal.aborted) stream.destroy(signal.reason);
      else signal.addEventListener('abort', () => stream.destroy(signal.reason), { once: true });
    }
    return stream;
  }

  async create(path: string): Promise<void> {
    const full = this.full(path);
    await mkdir(dirname(full), { recursive: true });
    const handle = await open(full, 'wx');
    await handle.close();
  }

  async openAppend(path: string): Promise<Writable> {
    const full = this.full(path);
    return createWriteStream(full, { flags: 'r+', start: (await stat(full)).size });
  }

  async truncate(path: string, size: number): Promise<void> {
    await truncate(this.full(path), size);
  }

  async publish(from: string, to: string): Promise<void> {
    const source = this.full(from);
    const target = this.full(to);
    await mkdir(dirname(target), { recursive: true });
    await publishFile(source, target);
  }

  async delete(path: string): Promise<void> {
    await rm(this.full(path.replace(/\/$/, '')), { recursive: path.endsWith('/'), force: true });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* this.walk(this.full(prefix.replace(/\/$/, '')));
  }

  private async *walk(dir: string): AsyncIterable<ObjectInfo> {
    let entries: Awaited<ReturnType<typeof opendir>>;
    try {
      entries = await opendir(dir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for await (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) yield* this.walk(full);
      else if (entry.isFile()) {
        const s = await stat(full).catch(() => undefined);
        if (s)
          yield { path: relative(this.root, full).split(sep).join('/'), size: s.size, modified: s.mtime };
      }
    }
  }

  async redirectUrl(): Promise<string | undefined> {
    return undefined;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

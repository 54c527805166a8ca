import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../oci/errors.js';
import { indexTar, type TarEntry, type TarIndex } from './tar-index.js';

/** A tar file opened for random access: its index, plus reads of entries as file ranges. */
export interface TarArchive {
  /** The archive as the user named it, for messages. */
  readonly label: string;
  readonly index: TarIndex;
  /**
   * The regular file `name` leads to after following links. Throws `ARCHIVE_ENTRY_MISSING` (`what` says what
   * was looked for) when nothing is there, `ARCHIVE_INVALID` when it is not a regular file.
   */
  file(name: string, what: string): TarEntry;
  /** Like `file`, but undefined when nothing is there. */
  findFile(name: string, what: string): TarEntry | undefined;
  /** An entry's data in memory; for small files (JSON), never layers. */
  read(entry: TarEntry, limit: number, what: string): Promise<Buffer>;
  /** The first bytes of an entry (at most `length`). */
  peek(entry: TarEntry, length: number): Promise<Buffer>;
  /** An entry's data as a stream of the archive's byte range. */
  open(entry: TarEntry): Readable;
  /** Removes the decompressed copy, if one was made. */
  close(): Promise<void>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const UNSUPPORTED_COMPRESSIONS: [string, number[]][] = [
  ['zstd', ZSTD_MAGIC],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

function startsWith(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

export function isGzip(bytes: Buffer): boolean {
  return startsWith(bytes, GZIP_MAGIC);
}

export function isZstd(bytes: Buffer): boolean {
  return startsWith(bytes, ZSTD_MAGIC);
}

async function readHead(path: string, label: string): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BerthError('ARCHIVE_NOT_FOUND', `${label}: no such file`);
    throw new BerthError(
      'ARCHIVE_UNREADABLE',
      `${label}: cannot open the archive (${code ?? String(error)})`,
    );
  }
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR')
      throw new BerthError('ARCHIVE_NOT_TAR', `${label}: is a folder, not a tar archive`);
    throw new BerthError(
      'ARCHIVE_UNREADABLE',
      `${label}: cannot read the archive (${code ?? String(error)})`,
    );
  } finally {
    await handle.close();
  }
}

/** `docker save | gzip` output: decompressed once to a temporary file, since gzip cannot be read at offsets. */
async function gunzipToTemp(path: string, label: string, tempDir: string | undefined): Promise<string> {
  const dir = await mkdtemp(join(tempDir ?? tmpdir(), 'berth-archive-'));
  const file = join(dir, 'archive.tar');
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(file));
    return file;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') {
      throw new BerthError('ARCHIVE_TRUNCATED', `${label}: truncated gzip archive`, { cause: error });
    }
    throw new BerthError('ARCHIVE_INVALID', `${label}: corrupt gzip archive (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * Opens a tar archive at `path` for random access, decompressing it first to a temporary file (under
 * `tempDir`, removed by `close`) when it is gzip-compressed.
 */
export async function openTarArchive(
  path: string,
  options: { label: string; tempDir?: string | undefined },
): Promise<TarArchive> {
  const { label } = options;
  const head = await readHead(path, label);
  for (const [name, magic] of UNSUPPORTED_COMPRESSIONS) {
    if (startsWith(head, magic)) {
      throw new BerthError('ARCHIVE_NOT_TAR', `${label}: ${name}-compressed archive; decompress it first`);
    }
  }
  const temp = isGzip(head) ? await gunzipToTemp(path, label, options.tempDir) : undefined;
  const file = temp ?? path;
  let index: TarIndex;
  try {
    index = await indexTar(file, label);
  } catch (error) {
    if (temp) await rm(join(temp, '..'), { recursive: true, force: true });
    throw error;
  }

  const findFile = (name: string, what: string): TarEntry | undefined => {
    const entry = index.resolve(name);
    if (entry && entry.type !== 'file') {
      throw new BerthError('ARCHIVE_INVALID', `${label}: ${what} "${name}" is not a regular file`);
    }
    return entry;
  };

  const readRange = async (entry: TarEntry, length: number): Promise<Buffer> => {
    const handle = await open(file, 'r');
    try {
      const data = Buffer.alloc(length);
      const { bytesRead } = await handle.read(data, 0, length, entry.offset);
      return data.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };

  return {
    label,
    index,
    findFile,
    file(name, what) {
      const entry = findFile(name, what);
      if (!entry)
        throw new BerthError('ARCHIVE_ENTRY_MISSING', `${label}: ${what} "${name}" is not in the archive`);
      return entry;
    },
    async read(entry, limit, what) {
      if (entry.size > limit) {
        throw new BerthError(
          'ARCHIVE_INVALID',
          `${label}: ${what} is ${entry.size} bytes, over the limit of ${limit}`,
        );
      }
      const data = await readRange(entry, entry.size);
      if (data.length < entry.size) {
        throw new BerthError('ARCHIVE_TRUNCATED', `${label}: ${what} is cut off (the archive shrank?)`);
      }
      return data;
    },
    async peek(entry, length) {
      return readRange(entry, Math.min(length, entry.size));
    },
    open(entry) {
      if (entry.size === 0) return Readable.from([]);
      return createReadStream(file, {
        start: entry.offset,
        end: entry.offset + entry.size - 1,
        highWaterMark: 1024 * 1024,
      });
    },
    async close() {
      if (temp) await rm(join(temp, '..'), { recursive: true, force: true });
    },
  };
}

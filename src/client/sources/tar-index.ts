// An index of a tar file's entries: names, types, link targets, and where each entry's data starts.
//
// Written by hand because the tar libraries on npm (tar-stream, tar) are streaming parsers that hand out
// entry contents but never their byte offsets; random access to a blob of a multi-gigabyte archive needs
// the offset, so that the blob can be served as a plain file range without extracting anything.

import { open } from 'node:fs/promises';
import { BerthError } from '../../oci/errors.js';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** The entry's path, normalized: no leading `./` or `/`, no trailing `/`, no `.` or `..` segments. */
  name: string;
  type: TarEntryType;
  /** Byte offset of the entry's data in the tar file. */
  offset: number;
  size: number;
  /** Target of a symbolic or hard link, as written in the archive. */
  linkName?: string;
}

const BLOCK = 512;
// Long names and pax headers are a few hundred bytes; anything this large is a broken archive.
const MAX_META_SIZE = 1024 * 1024;
// Linux gives up on a path after 40 symbolic links (MAXSYMLINKS); so do we.
const MAX_LINK_HOPS = 40;
const HEADER_ONLY_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

/** Normalizes an archive path: `./a//b/../c/` → `a/c`. `..` never climbs above the archive's root. */
export function normalizeEntryName(raw: string): string {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function parentOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

/** Where a symbolic link at `name` points: absolute targets start at the archive's root. */
function symlinkTarget(name: string, target: string): string {
  return normalizeEntryName(target.startsWith('/') ? target : `${parentOf(name)}/${target}`);
}

export class TarIndex {
  constructor(
    /** The archive as the user named it, for messages. */
    readonly label: string,
    private readonly entries: ReadonlyMap<string, TarEntry>,
  ) {}

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry stored under `name`, without following links. */
  get(name: string): TarEntry | undefined {
    return this.entries.get(normalizeEntryName(name));
  }

  /**
   * The entry `name` refers to once symbolic links (relative or absolute, in the name itself or in a
   * parent folder) and hard links are followed; undefined when nothing is there. Throws
   * `ARCHIVE_LINK_LOOP` on a cycle.
   */
  resolve(name: string): TarEntry | undefined {
    const seen = new Set<string>();
    let current = normalizeEntryName(name);
    for (let hops = 0; ; hops++) {
      if (seen.has(current) || hops > MAX_LINK_HOPS) {
        throw new BerthError('ARCHIVE_LINK_LOOP', `${this.label}: links loop while resolving "${name}"`);
      }
      seen.add(current);
      const entry = this.entries.get(current);
      if (entry?.type === 'symlink') {
        current = symlinkTarget(current, entry.linkName ?? '');
      } else if (entry?.type === 'hardlink') {
        // Hard link targets are archive paths, never relative to the link's folder.
        current = normalizeEntryName(entry.linkName ?? '');
      } else if (entry) {
        return entry;
      } else {
        const redirected = this.throughLinkedFolder(current);
        if (redirected === undefined) return undefined;
        current = redirected;
      }
    }
  }

  /** `a/b/c` when `a` is a symbolic link to `x`: `x/b/c`. */
  private throughLinkedFolder(name: string): string | undefined {
    const parts = name.split('/');
    for (let i = parts.length - 1; i >= 1; i--) {
      const folder = parts.slice(0, i).join('/');
      const entry = this.entries.get(folder);
      if (entry?.type === 'symlink') {
        return normalizeEntryName(
          `${symlinkTarget(folder, entry.linkName ?? '')}/${parts.slice(i).join('/')}`,
        );
      }
    }
    return undefined;
  }
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** A numeric header field: octal text, or base-256 (GNU) when the high bit of the first byte is set. */
function numeric(block: Buffer, start: number, length: number): number | undefined {
  const field = block.subarray(start, start + length);
  const first = field[0] ?? 0;
  if (first & 0x80) {
    // Base-256: big-endian two's complement with the marker bit; negative sizes make no sense here.
    if (first & 0x40) return undefined;
    let value = first & 0x3f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

function checksumMatches(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some old writers summed signed bytes; both are accepted, as GNU tar does.
  return stored === unsigned || stored === signed;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses pax extended header records: `LENGTH KEY=VALUE\n`, LENGTH counting the whole record. */
function parsePax(data: Buffer, label: string): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    const length = space < 0 ? Number.NaN : Number(data.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) {
      throw new BerthError('ARCHIVE_INVALID', `${label}: malformed pax extended header`);
    }
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    pos += length;
  }
  return records;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'directory';
    default:
      return 'other';
  }
}

/**
 * Reads every header of the tar file at `path` (512-byte blocks; ustar prefixes, GNU long names and long
 * link names, pax extended and global headers, base-256 sizes) and records where each entry's data lies.
 * Entry data is never read, except the few bytes of long names and pax headers. A later entry of the same
 * name replaces an earlier one, as extraction would. `label` names the archive in errors:
 * `ARCHIVE_NOT_TAR`, `ARCHIVE_TRUNCATED`, `ARCHIVE_INVALID`.
 */
export async function indexTar(path: string, label: string): Promise<TarIndex> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const entries = new Map<string, TarEntry>();
    const block = Buffer.alloc(BLOCK);
    const globalPax = new Map<string, string>();
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    let position = 0;
    let headers = 0;

    const readData = async (offset: number, size: number, what: string): Promise<Buffer> => {
      if (size > MAX_META_SIZE) {
        throw new BerthError(
          'ARCHIVE_INVALID',
          `${label}: a ${what} of ${size} bytes at byte ${offset} is too large`,
        );
      }
      const data = Buffer.alloc(size);
      const { bytesRead } = await handle.read(data, 0, size, offset);
      if (bytesRead < size) {
        throw new BerthError('ARCHIVE_TRUNCATED', `${label}: truncated archive (${what} cut off)`);
      }
      return data;
    };

    for (;;) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, position);
      // Every writer ends with zero blocks. Go's archive/tar accepts an archive without them, but copies cut
      // short almost always stop at a multiple of 512 bytes, so a missing end marker means a truncated archive.
      if (bytesRead === 0 && headers > 0) {
        throw new BerthError(
          'ARCHIVE_TRUNCATED',
          `${label}: truncated archive (no end-of-archive marker after byte ${position})`,
        );
      }
      if (bytesRead === 0) break;
      if (bytesRead < BLOCK) {
        throw headers === 0
          ? new BerthError('ARCHIVE_NOT_TAR', `${label}: not a tar archive`)
          : new BerthError(
              'ARCHIVE_TRUNCATED',
              `${label}: truncated archive (header at byte ${position} cut off)`,
            );
      }
      if (isZeroBlock(block)) break;
      if (!checksumMatches(block)) {
        throw headers === 0
          ? new BerthError('ARCHIVE_NOT_TAR', `${label}: not a tar archive`)
          : new BerthError('ARCHIVE_INVALID', `${label}: corrupt tar header at byte ${position}`);
      }
      headers++;
      const flag = String.fromCharCode(block[156] ?? 0);
      const headerSize = numeric(block, 124, 12);
      if (headerSize === undefined) {
        throw new BerthError(
          'ARCHIVE_INVALID',
          `${label}: bad size field in the tar header at byte ${position}`,
        );
      }
      let dataOffset = position + BLOCK;
      // GNU sparse headers ('S') may be followed by extension blocks holding more of the sparse map.
      if (flag === 'S' && block[482] !== 0) {
        const extension = Buffer.alloc(BLOCK);
        do {
          const read = await handle.read(extension, 0, BLOCK, dataOffset);
          if (read.bytesRead < BLOCK) {
            throw new BerthError('ARCHIVE_TRUNCATED', `${label}: truncated archive (sparse header cut off)`);
          }
          dataOffset += BLOCK;
        } while (extension[504] !== 0);
      }
      const paxSize = pax.get('size') ?? globalPax.get('size');
      const meta = flag === 'x' || flag === 'X' || flag === 'g' || flag === 'L' || flag === 'K';
      const declared = !meta && paxSize !== undefined ? Number(paxSize) : headerSize;
      if (!Number.isSafeInteger(declared) || declared < 0) {
        throw new BerthError('ARCHIVE_INVALID', `${label}: bad pax size "${paxSize}" at byte ${position}`);
      }
      // Links, folders and devices have no data whatever their size field says (as Go's archive/tar reads them).
      const size = HEADER_ONLY_TYPES.has(flag) ? 0 : declared;
      if (dataOffset + size > fileSize) {
        throw new BerthError(
          'ARCHIVE_TRUNCATED',
          `${label}: truncated archive (an entry at byte ${position} extends ${dataOffset + size - fileSize} bytes beyond the end of the file)`,
        );
      }
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;

      if (flag === 'L') {
        longName = cString(await readData(dataOffset, size, 'long name'), 0, size);
      } else if (flag === 'K') {
        longLink = cString(await readData(dataOffset, size, 'long link name'), 0, size);
      } else if (flag === 'x' || flag === 'X') {
        pax = parsePax(await readData(dataOffset, size, 'pax header'), label);
      } else if (flag === 'g') {
        for (const [key, value] of parsePax(await readData(dataOffset, size, 'pax global header'), label)) {
          globalPax.set(key, value);
        }
      } else {
        const magic = block.subarray(257, 263).toString('latin1');
        // Only POSIX ustar has a prefix field; GNU tar keeps access and change times in those bytes.
        const prefix = magic === 'ustar\0' ? cString(block, 345, 155) : '';
        const headerName = cString(block, 0, 100);
        const rawName =
          pax.get('path') ??
          longName ??
          globalPax.get('path') ??
          (prefix ? `${prefix}/${headerName}` : headerName);
        const linkName =
          pax.get('linkpath') ?? longLink ?? globalPax.get('linkpath') ?? cString(block, 157, 100);
        // A pax-described GNU sparse file stores a sparse map, not the file's bytes.
        const sparse = pax.has('GNU.sparse.major') || pax.has('GNU.sparse.map') || flag === 'S';
        const type = sparse ? 'other' : typeOf(flag);
        const name = normalizeEntryName(rawName);
        const entry: TarEntry = { name, type, offset: dataOffset, size };
        if (type === 'symlink' || type === 'hardlink') entry.linkName = linkName;
        if (name !== '') entries.set(name, entry);
        pax = new Map();
        longName = undefined;
        longLink = undefined;
      }
      position = next;
    }
    if (headers === 0) throw new BerthError('ARCHIVE_NOT_TAR', `${label}: empty archive or not a tar`);
    return new TarIndex(label, entries);
  } finally {
    await handle.close();
  }
}

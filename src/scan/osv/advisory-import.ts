import { close, openSync, readSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { BerthError } from '../../oci/errors.js';
import type { ScanIssue } from '../types.js';
import type { AdvisoryDb, AdvisoryWriter } from './advisory-db.js';
import { parseOsvRecord } from './osv-record.js';

/**
 * `berth db import PATH`: OSV records from a zip (osv.dev's per-ecosystem `all.zip` of `ID.json` files, read
 * entry by entry), a folder (every `*.json` below it) or one JSON file (a record or an array of records).
 * One transaction per PATH; a malformed record is skipped and reported, the rest goes in.
 */

export interface AdvisoryImportResult {
  source: string;
  /** Records new to the database. */
  imported: number;
  /** Records that replaced an older (or equally old but different) copy. */
  updated: number;
  /** Records already stored as they are, or stored in a newer copy. */
  unchanged: number;
  /** Records that could not be read or fail the schema (each one in `issues`). */
  skipped: number;
  /** Of the imported and updated records, how many are withdrawn (kept, never matched). */
  withdrawn: number;
  issues: ScanIssue[];
}

/** The counts of an import that has read nothing (yet) from `source`. */
export function emptyImportResult(source: string): AdvisoryImportResult {
  return { source, imported: 0, updated: 0, unchanged: 0, skipped: 0, withdrawn: 0, issues: [] };
}

export interface AdvisoryImportOptions {
  signal?: AbortSignal;
  /** Called after each record read, with the count so far (for progress output). */
  onRecord?: (count: number) => void;
}

// One OSV record is a few kB; the largest real ones (long `versions` lists) stay far below this.
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

interface ImportState {
  result: AdvisoryImportResult;
  writer: AdvisoryWriter;
  options: AdvisoryImportOptions;
  seen: number;
}

function invalid(state: ImportState, where: string, message: string): void {
  state.result.skipped++;
  state.result.issues.push({ code: 'ADVISORY_INVALID', message: `${where}: ${message}`, path: where });
}

/** Checks one parsed value and stores it. */
function storeValue(state: ImportState, where: string, value: unknown): void {
  state.options.signal?.throwIfAborted();
  state.seen++;
  state.options.onRecord?.(state.seen);
  const parsed = parseOsvRecord(value);
  if ('error' in parsed) {
    invalid(state, where, `not an OSV record: ${parsed.error}`);
    return;
  }
  const outcome = state.writer.put(parsed.record);
  state.result[outcome]++;
  if (outcome !== 'unchanged' && parsed.record.withdrawn) state.result.withdrawn++;
}

function parseJson(state: ImportState, where: string, text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    invalid(state, where, `not JSON: ${(error as Error).message}`);
    return undefined;
  }
}

/** A JSON file holding one record or an array of records. */
function storeJsonText(state: ImportState, where: string, text: string, arrayAllowed: boolean): void {
  const parsed = parseJson(state, where, text);
  if (!parsed) return;
  if (arrayAllowed && Array.isArray(parsed.value)) {
    parsed.value.forEach((item, i) => {
      storeValue(state, `${where}[${i}]`, item);
    });
    return;
  }
  storeValue(state, where, parsed.value);
}

async function readEntry(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new Error(`larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The next entry of a zip opened with lazyEntries, or null at the end. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => {
      done();
      resolve(entry);
    };
    const onEnd = (): void => {
      done();
      resolve(null);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

// Zip entries are read in file order, so one window read ahead serves many small records.
const WINDOW_BYTES = 1024 * 1024;
// yauzl alternates between the central directory (at the end) and the entries' data (from the start).
const WINDOWS = 3;

/**
 * Serves yauzl's reads from a few windows of the file read ahead: an all.zip holds tens of thousands of small
 * records, and one asynchronous read per header and per record would leave the import waiting on the thread
 * pool most of the time. Memory stays at a few windows (or one record, when a record is larger).
 */
class WindowedFileReader extends yauzl.RandomAccessReader {
  readonly #fd: number;
  /** Most recently used first. */
  #windows: { start: number; bytes: Buffer }[] = [];

  constructor(fd: number) {
    super();
    this.#fd = fd;
  }

  #bytes(start: number, end: number): Buffer {
    const hit = this.#windows.findIndex((w) => start >= w.start && end - w.start <= w.bytes.length);
    if (hit >= 0) {
      const window = this.#windows[hit] as { start: number; bytes: Buffer };
      if (hit > 0) this.#windows = [window, ...this.#windows.filter((_, i) => i !== hit)];
      return window.bytes.subarray(start - window.start, end - window.start);
    }
    const size = Math.max(end - start, WINDOW_BYTES);
    // A fresh buffer per window: slices handed out earlier keep their bytes.
    const buffer = Buffer.allocUnsafe(size);
    const read = readSync(this.#fd, buffer, 0, size, start);
    if (read < end - start) throw new Error('unexpected end of file');
    this.#windows = [{ start, bytes: buffer.subarray(0, read) }, ...this.#windows].slice(0, WINDOWS);
    return buffer.subarray(0, end - start);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    try {
      return Readable.from([this.#bytes(start, end)], { objectMode: false });
    } catch (error) {
      const failed = new PassThrough();
      process.nextTick(() => failed.destroy(error as Error));
      return failed;
    }
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    try {
      this.#bytes(position, position + length).copy(buffer, offset);
      setImmediate(callback, null);
    } catch (error) {
      setImmediate(callback, error as Error);
    }
  }

  override close(callback: (err: Error | null) => void): void {
    close(this.#fd, (error) => callback(error ?? null));
  }
}

function archiveInvalid(path: string, error: unknown): BerthError {
  return new BerthError(
    'ADVISORY_ARCHIVE_INVALID',
    `${path}: not a readable zip archive (${(error as Error).message ?? String(error)})`,
    { cause: error },
  );
}

/**
 * One entry's bytes, inflated here in one synchronous call: records are small, and an asynchronous inflate
 * stream per record would cost more in hand-offs than the inflating itself.
 */
async function entryBytes(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  if (entry.isEncrypted()) throw new Error('encrypted');
  const raw = await readEntry(
    await zip.openReadStreamPromise(entry, { decodeFileData: false }),
    MAX_RECORD_BYTES,
  );
  let bytes: Buffer;
  if (entry.compressionMethod === 0) bytes = raw;
  else if (entry.compressionMethod === 8) bytes = inflateRawSync(raw, { maxOutputLength: MAX_RECORD_BYTES });
  else throw new Error(`compression method ${entry.compressionMethod} is not supported`);
  if (bytes.length !== entry.uncompressedSize)
    throw new Error(`${bytes.length} bytes where the archive says ${entry.uncompressedSize}`);
  return bytes;
}

async function importZip(state: ImportState, path: string): Promise<void> {
  let zip: yauzl.ZipFile;
  const fd = openSync(path, 'r');
  const reader = new WindowedFileReader(fd);
  try {
    const { size } = await stat(path);
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    reader.close(() => {});
    throw archiveInvalid(path, error);
  }
  try {
    for (;;) {
      let entry: yauzl.Entry | null;
      try {
        entry = await nextEntry(zip);
      } catch (error) {
        throw archiveInvalid(path, error);
      }
      if (!entry) break;
      const name = entry.fileName;
      if (name.endsWith('/') || extname(name).toLowerCase() !== '.json') continue;
      const where = `${path}!${name}`;
      if (entry.uncompressedSize > MAX_RECORD_BYTES) {
        invalid(state, where, `larger than ${MAX_RECORD_BYTES} bytes`);
        continue;
      }
      let bytes: Buffer;
      try {
        bytes = await entryBytes(zip, entry);
      } catch (error) {
        invalid(state, where, `cannot be read: ${(error as Error).message}`);
        continue;
      }
      storeJsonText(state, where, bytes.toString('utf8'), false);
    }
  } finally {
    zip.close();
  }
}

/** `*.json` files below a folder, in a stable order; symbolic links to folders are not followed. */
async function* jsonFiles(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsonFiles(full);
    else if (extname(entry.name).toLowerCase() === '.json' && (entry.isFile() || entry.isSymbolicLink()))
      yield full;
  }
}

async function importFile(state: ImportState, path: string, arrayAllowed: boolean): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    invalid(state, path, `cannot be read: ${(error as Error).message}`);
    return;
  }
  storeJsonText(state, path, text, arrayAllowed);
}

async function looksLikeZip(path: string): Promise<boolean> {
  if (extname(path).toLowerCase() === '.zip') return true;
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
  } finally {
    await handle.close();
  }
}

/** Imports every record found at `path` in one transaction; the database is unchanged if this throws. */
export async function importAdvisories(
  db: AdvisoryDb,
  path: string,
  options: AdvisoryImportOptions = {},
): Promise<AdvisoryImportResult> {
  let kind: 'folder' | 'zip' | 'json';
  try {
    const info = await stat(path);
    if (info.isDirectory()) kind = 'folder';
    else if (!info.isFile())
      throw new BerthError('ADVISORY_SOURCE_INVALID', `${path}: not a file or a folder`);
    else kind = (await looksLikeZip(path)) ? 'zip' : 'json';
  } catch (error) {
    if (error instanceof BerthError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new BerthError('ADVISORY_SOURCE_MISSING', `${path}: no such file or folder`);
    throw new BerthError('ADVISORY_SOURCE_INVALID', `${path}: ${(error as Error).message}`);
  }
  const result = emptyImportResult(path);
  await db.transaction(async (writer) => {
    const state: ImportState = { result, writer, options, seen: 0 };
    if (kind === 'zip') await importZip(state, path);
    else if (kind === 'json') await importFile(state, path, true);
    else {
      try {
        for await (const file of jsonFiles(path)) await importFile(state, file, true);
      } catch (error) {
        if (error instanceof BerthError || (error as Error).name === 'AbortError') throw error;
        throw new BerthError('ADVISORY_SOURCE_INVALID', `${path}: ${(error as Error).message}`);
      }
    }
  });
  return result;
}

import Database from 'better-sqlite3';
import type { InstalledPackage, InventoryFile, OsRelease } from '../types.js';
import { fileIssue, type ReaderResult, type SystemPackageRecord, systemPackage } from './inventory-reader.js';

/**
 * Reads the SQLite rpmdb of current Fedora, RHEL and their kin (`Packages(hnum, blob)`, one RPM header per
 * row). The header format is parsed here by hand: no maintained npm library reads rpm headers.
 */
export function readRpmDatabase(file: InventoryFile, os?: OsRelease): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  let rows: { hnum: number; blob: Buffer }[];
  try {
    rows = readPackageRows(file.content);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    result.issues.push(fileIssue(file, 'RPMDB_INVALID', `rpm database unreadable: ${message}`));
    return result;
  }
  const namespace = os?.id;
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  for (const row of rows) {
    const header = parseRpmHeader(row.blob);
    if (typeof header === 'string') {
      result.issues.push(fileIssue(file, 'RPM_HEADER_INVALID', `rpm header ${row.hnum} skipped: ${header}`));
      continue;
    }
    // The gpg-pubkey pseudo-packages are imported keys, not software.
    if (header.name === 'gpg-pubkey') continue;
    result.packages.push(toPackage(header, namespace, distro, file));
  }
  return result;
}

function readPackageRows(content: Buffer): { hnum: number; blob: Buffer }[] {
  if (content.length < 100 || content.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') {
    throw new Error('not an SQLite database');
  }
  // An in-memory copy cannot use a write-ahead log; marking the copy as a rollback-journal database (file
  // format bytes 18 and 19 = 1) lets SQLite open the WAL-mode files rpm writes.
  const copy = Buffer.from(content);
  copy[18] = 1;
  copy[19] = 1;
  const db = new Database(copy, { readonly: true });
  try {
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as {
      hnum: number;
      blob: unknown;
    }[];
    return rows.filter((r): r is { hnum: number; blob: Buffer } => Buffer.isBuffer(r.blob));
  } finally {
    db.close();
  }
}

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  license?: string;
  vendor?: string;
  summary?: string;
  sourceRpm?: string;
}

const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  summary: 1004,
  vendor: 1011,
  license: 1014,
  arch: 1022,
  sourceRpm: 1044,
} as const;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;
// rpm itself refuses headers with more entries or data than these (header.c's limits).
const MAX_INDEX_ENTRIES = 0xffff;
const MAX_DATA_SIZE = 256 * 1024 * 1024;

/**
 * Parses one stored rpm header: big-endian index count and data size, then that many 16-byte index
 * entries (tag, type, offset, count), then the data store the offsets point into. Returns the fields the
 * inventory needs, or a string saying why the blob is not a usable header. Every offset is bounds-checked.
 */
export function parseRpmHeader(blob: Buffer): RpmHeader | string {
  if (blob.length < 8) return 'shorter than the 8-byte preamble';
  const indexCount = blob.readUInt32BE(0);
  const dataSize = blob.readUInt32BE(4);
  if (indexCount === 0 || indexCount > MAX_INDEX_ENTRIES) return `index count ${indexCount} out of range`;
  if (dataSize > MAX_DATA_SIZE) return `data size ${dataSize} out of range`;
  const dataStart = 8 + indexCount * 16;
  if (dataStart + dataSize > blob.length) {
    return `index and data (${dataStart + dataSize} bytes) run past the blob (${blob.length} bytes)`;
  }
  const data = blob.subarray(dataStart, dataStart + dataSize);
  const entries = new Map<number, { type: number; offset: number; count: number }>();
  for (let i = 0; i < indexCount; i++) {
    const at = 8 + i * 16;
    const tag = blob.readUInt32BE(at);
    if (!entries.has(tag)) {
      entries.set(tag, {
        type: blob.readUInt32BE(at + 4),
        offset: blob.readUInt32BE(at + 8),
        count: blob.readUInt32BE(at + 12),
      });
    }
  }
  const errors: string[] = [];
  const str = (tag: number): string | undefined => {
    const e = entries.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE_STRING && e.type !== TYPE_I18NSTRING && e.type !== TYPE_STRING_ARRAY) {
      errors.push(`tag ${tag} has type ${e.type}, not a string`);
      return undefined;
    }
    if (e.offset >= data.length) {
      errors.push(`tag ${tag} offset ${e.offset} past the data (${data.length} bytes)`);
      return undefined;
    }
    const end = data.indexOf(0, e.offset);
    if (end < 0) {
      errors.push(`tag ${tag} string has no terminator`);
      return undefined;
    }
    // The first string of an i18n or array value is the default (C locale) one.
    return data.toString('utf8', e.offset, end);
  };
  const int32 = (tag: number): number | undefined => {
    const e = entries.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE_INT32 || e.count < 1) {
      errors.push(`tag ${tag} is not an int32`);
      return undefined;
    }
    if (e.offset % 4 !== 0 || e.offset + 4 > data.length) {
      errors.push(`tag ${tag} offset ${e.offset} past the data (${data.length} bytes)`);
      return undefined;
    }
    return data.readInt32BE(e.offset);
  };
  const name = str(TAG.name);
  const version = str(TAG.version);
  const release = str(TAG.release);
  const header: RpmHeader = { name: name ?? '', version: version ?? '', release: release ?? '' };
  const epoch = int32(TAG.epoch);
  if (epoch !== undefined) header.epoch = epoch;
  const optional = [
    ['arch', TAG.arch],
    ['license', TAG.license],
    ['vendor', TAG.vendor],
    ['summary', TAG.summary],
    ['sourceRpm', TAG.sourceRpm],
  ] as const;
  for (const [key, tag] of optional) {
    const value = str(tag);
    if (value) header[key] = value;
  }
  if (errors.length > 0) return errors.join('; ');
  if (!name || !version || release === undefined) return 'no NAME, VERSION or RELEASE tag';
  return header;
}

/** `name-version-release.src.rpm` → `name` (names may hold dashes; version and release do not). */
export function sourceNameFromSourceRpm(sourceRpm: string): string | undefined {
  const match = /^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$/.exec(sourceRpm);
  return match?.[1];
}

function toPackage(
  header: RpmHeader,
  namespace: string | undefined,
  distro: string | undefined,
  file: InventoryFile,
): InstalledPackage {
  const versionRelease = header.release ? `${header.version}-${header.release}` : header.version;
  const version = header.epoch !== undefined ? `${header.epoch}:${versionRelease}` : versionRelease;
  const record: SystemPackageRecord = {
    name: header.name,
    version,
    purlVersion: versionRelease,
    qualifiers: header.epoch !== undefined ? { epoch: String(header.epoch) } : {},
    arch: header.arch,
    sourceName: header.sourceRpm ? sourceNameFromSourceRpm(header.sourceRpm) : undefined,
    // The source rpm shares the binary's version-release; the epoch is not in its file name but applies.
    sourceVersion: version,
    license: header.license,
    supplier: header.vendor,
    description: header.summary,
  };
  return systemPackage('rpm', record, namespace, distro, file);
}

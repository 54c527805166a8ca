import type { InstalledPackage, InventoryFile, OsRelease } from '../types.js';
import { fileIssue, type ReaderResult, systemPackage } from './inventory-reader.js';

/**
 * Reads Alpine's `/lib/apk/db/installed`: blank-line separated records of one-letter fields
 * (`P:` name, `V:` version, `A:` arch, `o:` origin, `L:` license, `m:` maintainer, `T:` description).
 */
export function readApkInstalled(file: InventoryFile, os?: OsRelease): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  const namespace = os?.id && os.id !== 'alpine' ? os.id : 'alpine';
  let fields = new Map<string, string>();
  let start = 1;
  const flush = (): void => {
    if (fields.size === 0) return;
    const name = fields.get('P');
    const version = fields.get('V');
    if (!name || !version) {
      result.issues.push(
        fileIssue(file, 'APK_RECORD_INVALID', `apk record at line ${start} skipped: no P: or V: field`),
      );
    } else {
      result.packages.push(toPackage(fields, name, version, namespace, distro, file));
    }
    fields = new Map();
  };
  const lines = file.content.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') {
      flush();
      start = i + 2;
      continue;
    }
    // Per-file lines (F:, R:, Z:, a:, M:) repeat; only the first value of a package field matters.
    if (line[1] !== ':') continue;
    const key = line[0] as string;
    if (!fields.has(key)) fields.set(key, line.slice(2));
  }
  flush();
  return result;
}

function toPackage(
  fields: Map<string, string>,
  name: string,
  version: string,
  namespace: string,
  distro: string | undefined,
  file: InventoryFile,
): InstalledPackage {
  const record = {
    name,
    version,
    arch: fields.get('A'),
    sourceName: fields.get('o') || name,
    sourceVersion: version,
    license: fields.get('L'),
    supplier: fields.get('m'),
    description: fields.get('T'),
  };
  return systemPackage('apk', record, namespace, distro, file);
}

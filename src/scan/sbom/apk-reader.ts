import { PackageURL } from 'packageurl-js';
import type { InstalledPackage, InventoryFile, OsRelease } from '../types.js';
import { fileIssue, fileLocation, type ReaderResult } from './inventory-reader.js';

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
  const arch = fields.get('A');
  const qualifiers: Record<string, string> = {};
  if (arch) qualifiers.arch = arch;
  if (distro) qualifiers.distro = distro;
  const pkg: InstalledPackage = {
    type: 'apk',
    name,
    version,
    sourceName: fields.get('o') || name,
    sourceVersion: version,
    purl: new PackageURL('apk', namespace, name, version, qualifiers, undefined).toString(),
    ...fileLocation(file),
  };
  if (arch) pkg.arch = arch;
  const license = fields.get('L');
  if (license) pkg.licenses = [license];
  const maintainer = fields.get('m');
  if (maintainer) pkg.supplier = maintainer;
  const description = fields.get('T');
  if (description) pkg.description = description;
  return pkg;
}

import { compareText } from '../text-order.js';
import type {
  InstalledPackage,
  Inventory,
  InventoryFile,
  InventoryInput,
  OsRelease,
  ScanIssue,
} from '../types.js';
import { readApkInstalled } from './apk-reader.js';
import { readDpkgStatus } from './dpkg-reader.js';
import { readGoBinary } from './go-reader.js';
import {
  APK_INSTALLED_PATH,
  DPKG_STATUS_DIR,
  DPKG_STATUS_PATH,
  isNodeModulesManifest,
  isNpmLockFile,
  OS_RELEASE_PATHS,
  RPMDB_SQLITE_PATHS,
} from './inventory-files.js';
import type { ReaderResult } from './inventory-reader.js';
import { readNpmPackages } from './npm-reader.js';
import { osFromReleaseFile, parseOsRelease } from './os-release.js';
import { isPythonMetadataFile, readPythonDistributions } from './python-reader.js';
import { readRpmDatabase } from './rpm-reader.js';

/**
 * The inventory of an image's final filesystem: the OS, then every reader over the files it wants. A reader
 * that fails on a file reports an issue for it and the others go on; nothing here throws on bad content.
 */
export function readInventory(input: InventoryInput): Inventory {
  const packages: InstalledPackage[] = [];
  const issues: ScanIssue[] = [];
  const os = detectOs(input.files);
  const files = [...input.files.values()].sort((a, b) => compareText(a.path, b.path));
  const run = (what: string, file: InventoryFile | undefined, read: () => ReaderResult): void => {
    try {
      const result = read();
      packages.push(...result.packages);
      issues.push(...result.issues);
    } catch (err) {
      // A reader bug must not cost the rest of the inventory.
      const message = err instanceof Error ? err.message : String(err);
      const issue: ScanIssue = { code: 'INVENTORY_READER_FAILED', message: `${what}: ${message}` };
      if (file)
        Object.assign(issue, { path: file.path, layerIndex: file.layerIndex, layerDigest: file.layerDigest });
      issues.push(issue);
    }
  };
  for (const file of files) {
    if (file.path === DPKG_STATUS_PATH || isDpkgStatusPart(file.path)) {
      run('dpkg', file, () => readDpkgStatus(file, os));
    } else if (file.path === APK_INSTALLED_PATH) {
      run('apk', file, () => readApkInstalled(file, os));
    } else if ((RPMDB_SQLITE_PATHS as readonly string[]).includes(file.path)) {
      run('rpm', file, () => readRpmDatabase(file, os));
    }
  }
  const npmFiles = files.filter((f) => isNodeModulesManifest(f.path) || isNpmLockFile(f.path));
  if (npmFiles.length > 0) run('npm', undefined, () => readNpmPackages(npmFiles));
  const pythonFiles = files.filter((f) => isPythonMetadataFile(f.path));
  if (pythonFiles.length > 0) run('python', undefined, () => readPythonDistributions(pythonFiles));
  for (const binary of input.goBinaries) {
    run('go', undefined, () => readGoBinary(binary));
  }
  packages.sort(comparePackages);
  const inventory: Inventory = { packages, issues };
  if (os) inventory.os = os;
  return inventory;
}

function isDpkgStatusPart(path: string): boolean {
  if (!path.startsWith(DPKG_STATUS_DIR)) return false;
  const rest = path.slice(DPKG_STATUS_DIR.length);
  return rest !== '' && !rest.includes('/') && !rest.endsWith('.md5sums');
}

/** os-release first (`/etc` over `/usr/lib`), then the older distribution release files. */
export function detectOs(files: ReadonlyMap<string, InventoryFile>): OsRelease | undefined {
  for (const path of OS_RELEASE_PATHS) {
    const file = files.get(path);
    const os = file ? parseOsRelease(file.content.toString('utf8')) : undefined;
    if (os) return os;
  }
  for (const path of ['/etc/alpine-release', '/etc/debian_version', '/etc/redhat-release']) {
    const file = files.get(path);
    const os = file ? osFromReleaseFile(path, file.content.toString('utf8')) : undefined;
    if (os) return os;
  }
  return undefined;
}

/** Type, name, version, then location: a stable order for documents and tables. */
export function comparePackages(a: InstalledPackage, b: InstalledPackage): number {
  return (
    compareText(a.type, b.type) ||
    compareText(a.name, b.name) ||
    compareText(a.version, b.version) ||
    compareText(a.location, b.location)
  );
}

/**
 * Which files of an image's final filesystem the inventory readers want. The layer walker asks for every
 * regular file it streams, so the test is a handful of string comparisons, never a regular expression scan.
 */

/** Files bigger than this are not kept in memory; the walker reports them as skipped. */
export const MAX_INVENTORY_FILE_SIZE = 128 * 1024 * 1024;

export const OS_RELEASE_PATHS = ['/etc/os-release', '/usr/lib/os-release'] as const;
export const DPKG_STATUS_PATH = '/var/lib/dpkg/status';
export const DPKG_STATUS_DIR = '/var/lib/dpkg/status.d/';
export const APK_INSTALLED_PATH = '/lib/apk/db/installed';
export const RPMDB_SQLITE_PATHS = [
  '/var/lib/rpm/rpmdb.sqlite',
  '/usr/lib/sysimage/rpm/rpmdb.sqlite',
] as const;

const EXACT = new Set<string>([
  ...OS_RELEASE_PATHS,
  '/etc/alpine-release',
  '/etc/debian_version',
  '/etc/redhat-release',
  DPKG_STATUS_PATH,
  APK_INSTALLED_PATH,
  ...RPMDB_SQLITE_PATHS,
]);

/** True for a regular file at `path` (absolute, normalized) that some inventory reader reads. */
export function isInventoryFile(path: string): boolean {
  if (EXACT.has(path)) return true;
  if (path.endsWith('/package.json')) return isNodeModulesManifest(path);
  if (path.endsWith('-lock.json') || path.endsWith('/npm-shrinkwrap.json')) return isNpmLockFile(path);
  if (path.endsWith('/METADATA')) return parentName(path).endsWith('.dist-info');
  if (path.endsWith('/PKG-INFO')) return parentName(path).endsWith('.egg-info');
  // An .egg-info that is a file (distutils installs) holds the PKG-INFO text itself.
  if (path.endsWith('.egg-info')) return true;
  if (path.startsWith(DPKG_STATUS_DIR)) {
    const rest = path.slice(DPKG_STATUS_DIR.length);
    return rest.length > 0 && !rest.includes('/') && !rest.endsWith('.md5sums');
  }
  return false;
}

/** `…/node_modules/NAME/package.json` or `…/node_modules/@SCOPE/NAME/package.json`, not deeper files. */
export function isNodeModulesManifest(path: string): boolean {
  const parts = path.split('/');
  const n = parts.length;
  // parts[n-1] is package.json; parts[n-2] the package folder.
  const name = parts[n - 2];
  if (name === undefined || name === '' || name.startsWith('.')) return false;
  if (parts[n - 3] === 'node_modules') return !name.startsWith('@');
  const scope = parts[n - 3];
  return parts[n - 4] === 'node_modules' && scope !== undefined && scope.length > 1 && scope.startsWith('@');
}

/** A project's lock file (outside node_modules) or npm's hidden lock file `node_modules/.package-lock.json`. */
export function isNpmLockFile(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === '.package-lock.json') return parentName(path) === 'node_modules';
  if (base !== 'package-lock.json' && base !== 'npm-shrinkwrap.json') return false;
  return !path.includes('/node_modules/');
}

function parentName(path: string): string {
  const end = path.lastIndexOf('/');
  const start = path.lastIndexOf('/', end - 1);
  return path.slice(start + 1, end);
}

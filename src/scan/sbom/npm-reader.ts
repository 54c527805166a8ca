import { PackageURL } from 'packageurl-js';
import type { InstalledPackage, InventoryFile } from '../types.js';
import { isNodeModulesManifest, isNpmLockFile } from './inventory-files.js';
import { fileIssue, fileLocation, type ReaderResult } from './inventory-reader.js';

/**
 * Reads npm packages from `node_modules/…/package.json` files and from lock files (v1 `dependencies` tree,
 * v2/v3 `packages` map). A package found both installed and in a lock file is listed once, at its
 * package.json; lock entries for dev dependencies are left out (they are often not installed in an image).
 */
export function readNpmPackages(files: readonly InventoryFile[]): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  const installed = new Set<string>();
  const manifests = files.filter((f) => isNodeModulesManifest(f.path));
  const locks = files.filter((f) => isNpmLockFile(f.path));
  for (const file of manifests) {
    const json = parseJson(file, result);
    if (json === undefined) continue;
    const name = json.name;
    const version = json.version;
    if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') {
      result.issues.push(fileIssue(file, 'NPM_PACKAGE_INVALID', 'package.json has no name or version'));
      continue;
    }
    const pkg = npmPackage(name, version, file);
    const licenses = licensesOf(json);
    if (licenses.length > 0) pkg.licenses = licenses;
    const author = personOf(json.author);
    if (author) pkg.supplier = author;
    if (typeof json.description === 'string' && json.description !== '') pkg.description = json.description;
    installed.add(`${name}@${version}`);
    result.packages.push(pkg);
  }
  const fromLocks = new Set<string>();
  for (const file of locks) {
    const json = parseJson(file, result);
    if (json === undefined) continue;
    for (const { name, version } of lockEntries(json)) {
      const key = `${name}@${version}`;
      if (installed.has(key) || fromLocks.has(key)) continue;
      fromLocks.add(key);
      result.packages.push(npmPackage(name, version, file));
    }
  }
  return result;
}

type Json = Record<string, unknown>;

function parseJson(file: InventoryFile, result: ReaderResult): Json | undefined {
  try {
    const value: unknown = JSON.parse(file.content.toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Json;
    result.issues.push(fileIssue(file, 'NPM_PACKAGE_INVALID', 'JSON file is not an object'));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    result.issues.push(fileIssue(file, 'NPM_PACKAGE_INVALID', `not JSON: ${message}`));
  }
  return undefined;
}

function npmPackage(name: string, version: string, file: InventoryFile): InstalledPackage {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return {
    type: 'npm',
    name,
    version,
    purl: new PackageURL('npm', namespace, bare, version, undefined, undefined).toString(),
    ...fileLocation(file),
  };
}

/** `license: "MIT"`, `license: { type: "MIT" }` or the old `licenses: [{ type }]`. */
function licensesOf(json: Json): string[] {
  const one = licenseText(json.license);
  if (one) return [one];
  if (Array.isArray(json.licenses)) {
    return json.licenses.map(licenseText).filter((l): l is string => l !== undefined);
  }
  return [];
}

function licenseText(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (value !== null && typeof value === 'object') {
    const type = (value as Json).type;
    if (typeof type === 'string' && type.trim() !== '') return type.trim();
  }
  return undefined;
}

function personOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (value !== null && typeof value === 'object') {
    const { name, email } = value as Json;
    if (typeof name === 'string' && name.trim() !== '') {
      return typeof email === 'string' && email !== '' ? `${name.trim()} <${email}>` : name.trim();
    }
  }
  return undefined;
}

/** The installed (non-dev) packages a lock file names, from either of its layouts. */
function lockEntries(json: Json): { name: string; version: string }[] {
  const out: { name: string; version: string }[] = [];
  const packages = json.packages;
  if (packages !== null && typeof packages === 'object' && !Array.isArray(packages)) {
    for (const [key, raw] of Object.entries(packages as Json)) {
      const at = key.lastIndexOf('node_modules/');
      if (at < 0 || raw === null || typeof raw !== 'object') continue;
      const entry = raw as Json;
      if (entry.link === true || entry.dev === true) continue;
      // An alias (`"x": "npm:y@1"`) is installed under x but is the package y.
      const name = typeof entry.name === 'string' ? entry.name : key.slice(at + 'node_modules/'.length);
      if (typeof entry.version === 'string' && isRegistryVersion(entry.version)) {
        out.push({ name, version: entry.version });
      }
    }
    return out;
  }
  const walk = (deps: unknown): void => {
    if (deps === null || typeof deps !== 'object' || Array.isArray(deps)) return;
    for (const [name, raw] of Object.entries(deps as Json)) {
      if (raw === null || typeof raw !== 'object') continue;
      const entry = raw as Json;
      if (entry.dev !== true && typeof entry.version === 'string' && isRegistryVersion(entry.version)) {
        out.push({ name, version: entry.version });
      }
      walk(entry.dependencies);
    }
  };
  walk(json.dependencies);
  return out;
}

// Git, file and tarball dependencies carry a URL where the version goes; they have no registry version.
function isRegistryVersion(version: string): boolean {
  return /^\d+\.\d+\.\d+/.test(version);
}

import { PackageURL } from 'packageurl-js';
import type { InstalledPackage, InventoryFile } from '../types.js';
import { fileIssue, fileLocation, type ReaderResult } from './inventory-reader.js';

/** True for the Python metadata files the reader takes: dist-info METADATA, egg-info PKG-INFO or file. */
export function isPythonMetadataFile(path: string): boolean {
  if (path.endsWith('.dist-info/METADATA')) return true;
  if (path.endsWith('.egg-info/PKG-INFO')) return true;
  return path.endsWith('.egg-info');
}

/**
 * Reads Python distributions from core metadata files (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, or an
 * `.egg-info` file): RFC 822 style headers up to the first blank line; the body (long description) is
 * never read as headers.
 */
export function readPythonDistributions(files: readonly InventoryFile[]): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  for (const file of files) {
    const headers = parseMetadataHeaders(file.content.toString('utf8'));
    const name = headers.get('name')?.[0];
    const version = headers.get('version')?.[0];
    if (!name || !version) {
      result.issues.push(
        fileIssue(file, 'PYTHON_METADATA_INVALID', 'Python metadata has no Name or Version header'),
      );
      continue;
    }
    const pkg: InstalledPackage = {
      type: 'pypi',
      name,
      version,
      purl: new PackageURL(
        'pypi',
        undefined,
        normalizePythonName(name),
        version,
        undefined,
        undefined,
      ).toString(),
      ...fileLocation(file),
    };
    const licenses = licensesOf(headers);
    if (licenses.length > 0) pkg.licenses = licenses;
    const supplier = known(headers.get('author')?.[0]) ?? known(headers.get('author-email')?.[0]);
    if (supplier) pkg.supplier = supplier;
    const summary = known(headers.get('summary')?.[0]);
    if (summary) pkg.description = summary;
    result.packages.push(pkg);
  }
  return result;
}

/** PEP 503: lower case, runs of `-`, `_` and `.` become one `-`. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Headers by lower-cased name, each with all its values (Classifier repeats). */
export function parseMetadataHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && last && last.length > 0) {
      last[last.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = values;
  }
  return headers;
}

function known(value: string | undefined): string | undefined {
  return value && value !== 'UNKNOWN' ? value : undefined;
}

/**
 * License-Expression (PEP 639) first; then a one-line License header (some hold the whole license text,
 * which is no name); then the license classifiers' last part, e.g. `MIT License`.
 */
function licensesOf(headers: Map<string, string[]>): string[] {
  const expression = known(headers.get('license-expression')?.[0]);
  if (expression) return [expression];
  const license = known(headers.get('license')?.[0]);
  if (license && !license.includes('\n') && license.length <= 120) return [license];
  const fromClassifiers = (headers.get('classifier') ?? [])
    .filter((c) => c.startsWith('License ::'))
    .map((c) => c.split('::').at(-1)?.trim() ?? '')
    .filter((c) => c !== '' && c !== 'OSI Approved');
  return [...new Set(fromClassifiers)];
}

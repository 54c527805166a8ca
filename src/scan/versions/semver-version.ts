import semver from 'semver';
import { compareText } from '../text-order.js';

/**
 * Semantic versions (npm, crates.io, Go modules, OSV `SEMVER` ranges). A leading `v` (Go modules) or `go`
 * (Go toolchains, `go1.22.5`) is dropped; short forms like `1.2` are coerced only when nothing stricter parses.
 */

function strip(version: string): string {
  return version.trim().replace(/^(v|go)(?=\d)/, '');
}

function parse(version: string): semver.SemVer | null {
  const text = strip(version);
  return (
    semver.parse(text) ??
    semver.parse(text, { loose: true }) ??
    semver.coerce(text, { includePrerelease: true })
  );
}

/** Whether the version is a semantic version once a `v` or `go` prefix is dropped. */
export function isValidSemver(version: string): boolean {
  return semver.valid(strip(version)) !== null;
}

/** SemVer 2.0 precedence (build metadata ignored); text order for what does not parse, so the order stays total. */
export function compareSemver(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (x && y) return x.compare(y);
  if (x) return 1;
  if (y) return -1;
  return compareText(a, b);
}

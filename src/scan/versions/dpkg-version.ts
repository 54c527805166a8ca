import { compareDigitRuns } from '../text-order.js';
/**
 * Debian package version ordering, as Debian policy §5.6.12 defines it and dpkg implements it:
 * `[epoch:]upstream_version[-debian_revision]`, compared epoch first, then upstream, then revision.
 */

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no revision (it then compares equal to `0`). */
  revision: string;
}

const EPOCH = /^\d+$/;
const UPSTREAM = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;

/** Splits a version into its three parts without judging it; see `isValidDpkgVersion` for that. */
export function splitDpkgVersion(version: string): DpkgVersion {
  const text = version.trim();
  const colon = text.indexOf(':');
  let epoch = 0;
  let rest = text;
  if (colon > 0 && EPOCH.test(text.slice(0, colon))) {
    epoch = Number(text.slice(0, colon));
    rest = text.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, upstream: rest, revision: '' };
  return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
}

/** Whether dpkg would accept the version: a numeric epoch, an upstream part starting with a digit, legal characters. */
export function isValidDpkgVersion(version: string): boolean {
  if (version !== version.trim() || version === '') return false;
  const colon = version.indexOf(':');
  if (colon >= 0 && !EPOCH.test(version.slice(0, colon))) return false;
  const { upstream, revision } = splitDpkgVersion(version);
  const hasRevision = version.slice(colon + 1).includes('-');
  if (!UPSTREAM.test(upstream)) return false;
  // A colon in the upstream part is only allowed when an epoch is given (it would otherwise read as one).
  if (colon < 0 && upstream.includes(':')) return false;
  return !hasRevision || REVISION.test(revision);
}

/** The weight of one character of a non-digit run: `~` before the end, the end before letters, letters before the rest. */
function weight(text: string, index: number): number {
  if (index >= text.length) return 0;
  const c = text.charCodeAt(index);
  if (c === 0x7e) return -1;
  if (c >= 0x30 && c <= 0x39) return 0;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c;
  return c + 256;
}

function isDigit(text: string, index: number): boolean {
  const c = text.charCodeAt(index);
  return c >= 0x30 && c <= 0x39;
}

/** Compares two digit runs as numbers of any length (no overflow: leading zeros dropped, then length, then text). */

/** dpkg's `verrevcmp`: alternate non-digit runs (by weight) and digit runs (by value). */
export function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a, i)) || (j < b.length && !isDigit(b, j))) {
      const wa = weight(a, i);
      const wb = weight(b, j);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    const startA = i;
    const startB = j;
    while (i < a.length && isDigit(a, i)) i++;
    while (j < b.length && isDigit(b, j)) j++;
    const order = compareDigitRuns(a.slice(startA, i), b.slice(startB, j));
    if (order !== 0) return order;
  }
  return 0;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in Debian's ordering. */
export function compareDpkgVersions(a: string, b: string): number {
  const x = splitDpkgVersion(a);
  const y = splitDpkgVersion(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareDpkgPart(x.upstream, y.upstream) || compareDpkgPart(x.revision, y.revision);
}

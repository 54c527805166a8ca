/**
 * RPM version ordering: `[epoch:]version[-release]`, each part compared with rpmvercmp (alphanumeric segments,
 * digits by value and above letters, `~` before everything including the end, `^` after the end only).
 */

export interface RpmVersion {
  epoch: number;
  version: string;
  /** Empty when absent. */
  release: string;
}

export function splitRpmVersion(evr: string): RpmVersion {
  const text = evr.trim();
  const colon = text.indexOf(':');
  let epoch = 0;
  let rest = text;
  if (colon > 0 && /^\d+$/.test(text.slice(0, colon))) {
    epoch = Number(text.slice(0, colon));
    rest = text.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, version: rest, release: '' };
  return { epoch, version: rest.slice(0, hyphen), release: rest.slice(hyphen + 1) };
}

export function isValidRpmVersion(evr: string): boolean {
  return /^(\d+:)?[A-Za-z0-9._+~^]*[A-Za-z0-9][A-Za-z0-9._+~^]*(-[A-Za-z0-9._+~^]+)?$/.test(evr);
}

const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);
const isDigitChar = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** rpmvercmp on one part (version or release). */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    // A tilde sorts before anything, the end included: 1.0~rc1 < 1.0.
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    // A caret sorts after the end but before anything else: 1.0 < 1.0^git1 < 1.0.1.
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigitChar(a[i]);
    const same = numeric ? isDigitChar : (c: string | undefined) => isAlnum(c) && !isDigitChar(c);
    const startA = i;
    const startB = j;
    while (i < a.length && same(a[i])) i++;
    while (j < b.length && same(b[j])) j++;
    const segA = a.slice(startA, i);
    const segB = b.slice(startB, j);
    // Segments of different kinds: a number is newer than letters.
    if (segB === '') return numeric ? 1 : -1;
    if (numeric) {
      const x = segA.replace(/^0+/, '');
      const y = segB.replace(/^0+/, '');
      if (x.length !== y.length) return x.length < y.length ? -1 : 1;
      if (x !== y) return x < y ? -1 : 1;
    } else if (segA !== segB) {
      return segA < segB ? -1 : 1;
    }
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` (epoch, then version, then release). */
export function compareRpmVersions(a: string, b: string): number {
  const x = splitRpmVersion(a);
  const y = splitRpmVersion(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return rpmvercmp(x.version, y.version) || rpmvercmp(x.release, y.release);
}

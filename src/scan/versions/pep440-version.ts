import { compare, valid } from '@renovatebot/pep440';
import { compareText } from '../text-order.js';

/** Python package versions (PEP 440): epochs `1!`, pre-, post- and dev-releases, local versions. */

export function isValidPep440(version: string): boolean {
  return valid(version.trim()) !== null;
}

/** PEP 440 ordering; text order for what does not parse, so the order stays total. */
export function comparePep440(a: string, b: string): number {
  const okA = isValidPep440(a);
  const okB = isValidPep440(b);
  if (okA && okB) return Math.sign(compare(a.trim(), b.trim()));
  if (okA) return 1;
  if (okB) return -1;
  return compareText(a, b);
}

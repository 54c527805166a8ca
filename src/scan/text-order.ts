/** Orders the scanner's reports and version parts use, so that every sort is total and the same everywhere. */

/** By UTF-16 code units, as `<` compares: the same on every machine, unlike `localeCompare`. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Two runs of decimal digits by their value, of any length (leading zeros ignored, no overflow). */
export function compareDigitRuns(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return compareText(x, y);
}

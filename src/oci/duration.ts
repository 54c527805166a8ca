import { BerthError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// Bounded: ten years is more than any grace period, and keeps the sum far below 2^53.
const MAX_MS = 10 * 365 * 86_400_000;

/** `90s`, `15m`, `1h30m`, `2d`, `0s`; a bare number is seconds. Milliseconds out; `INVALID` otherwise. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d{1,12}$/.test(trimmed)) return checked(Number(trimmed) * 1000, text);
  const parts = [...trimmed.matchAll(/(\d{1,12})(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new BerthError('INVALID', `not a duration: "${text}" (examples: 90s, 15m, 1h30m, 2d)`);
  }
  return checked(
    parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] as string] as number), 0),
    text,
  );
}

function checked(ms: number, text: string): number {
  if (ms > MAX_MS) throw new BerthError('INVALID', `duration too long: "${text}" (at most 10 years)`);
  return ms;
}

/** `1h30m`, `15m`, `0s`: the shortest exact spelling, for messages and reports. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out;
}

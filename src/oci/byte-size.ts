import { BerthError } from './errors.js';

/** Bytes for people, in binary units: `612.3 MiB`, `4.00 KiB`, `17 B`. Shared by the CLI and policy reports. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Decimal units for `k`/`M`/`G`/`T` and `kB`…, binary ones for `KiB`…; case does not matter. */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

export interface ByteSizeOptions {
  /** The smallest size accepted: 0 where 0 means "no limit" or "one piece" (the default), 1 for limits. */
  min?: number;
}

/**
 * Bytes in `64MiB`, `2GB`, `1.5 GiB`, `16M`, `1048576`, or a number of bytes (as YAML gives one); undefined when
 * it is not a size, not a whole number of bytes, or below `options.min`.
 */
export function byteSizeOf(raw: unknown, options: ByteSizeOptions = {}): number | undefined {
  const min = options.min ?? 0;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= min ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes >= min ? bytes : undefined;
}

/** A command-line size (`64MiB`, `16M`, `1048576`, `0`) in bytes; a `USAGE` error naming the option otherwise. */
export function parseByteSize(raw: string, option: string): number {
  const bytes = byteSizeOf(raw);
  if (bytes === undefined)
    throw new BerthError('USAGE', `${option}: "${raw}" is not a size (examples: 64MiB, 16M, 1048576)`);
  return bytes;
}

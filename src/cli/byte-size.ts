import { BerthError } from '../oci/errors.js';

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
};

/** Parses `64MiB`, `16M`, `1048576` into bytes. */
export function parseByteSize(raw: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new BerthError('USAGE', `${option}: "${raw}" is not a size (examples: 64MiB, 16M, 1048576)`);
  return Math.round(Number(m[1]) * unit);
}

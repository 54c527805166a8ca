import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import type { Page } from '../oci/page.js';
import type { RangeRequest } from '../registry/registry.js';

/** Parses an upload `Content-Range` (`start-end`, also `bytes start-end/total` as some clients send). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m)
    throw new RegistryError('RANGE_INVALID', { reason: 'malformed Content-Range', contentRange: header });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start)
    throw new RegistryError('RANGE_INVALID', { reason: 'Content-Range ends before it starts' });
  return { start, end };
}

/** Parses a blob `Range: bytes=…` header; other units or several ranges are ignored (the whole blob is sent). */
export function parseRange(header: string | undefined): RangeRequest | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') throw new RegistryError('BLOB_RANGE_INVALID', { range: header });
  if (first === '') return { suffix: Number(last) };
  return last === '' ? { start: Number(first) } : { start: Number(first), end: Number(last) };
}

export function contentLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const value = Number(header);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RegistryError('SIZE_INVALID', { contentLength: header });
  return value;
}

/** Whether the request carries a body at all (a length above zero, or chunked transfer). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a small body whole, refusing more than `limit` bytes with `error`. */
export async function readLimited(
  req: IncomingMessage,
  limit: number,
  error: () => RegistryError,
): Promise<Buffer> {
  const announced = contentLength(req);
  if (announced !== undefined && announced > limit) throw error();
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw error();
    parts.push(chunk as Buffer);
  }
  if (announced !== undefined && total !== announced) {
    throw new RegistryError('SIZE_INVALID', { expected: announced, received: total });
  }
  return Buffer.concat(parts, total);
}

const MAX_PAGE = 10_000;

/** `n` and `last` of a listing. `n` absent: everything (up to `defaultLimit` when given). */
export function parsePage(query: URLSearchParams, defaultLimit?: number): Page & { requested?: number } {
  const n = query.get('n');
  const last = query.get('last') ?? undefined;
  let limit = defaultLimit;
  if (n !== null) {
    if (!/^\d+$/.test(n))
      throw new RegistryError('PAGINATION_NUMBER_INVALID', { reason: 'n must be a non-negative integer', n });
    // A larger n is served as the largest page, with a Link to the next one: at most n results, as asked.
    limit = Math.min(Number(n), MAX_PAGE);
  }
  const page: Page = {};
  if (limit !== undefined) page.limit = limit;
  if (last) page.after = last;
  return page;
}

/** The RFC 5988 `Link` header to the next page of a listing. */
export function nextLink(
  path: string,
  limit: number,
  last: string,
  extra: Record<string, string> = {},
): string {
  const query = new URLSearchParams({ ...extra, n: String(limit), last });
  return `<${path}?${query.toString()}>; rel="next"`;
}

import type { Readable } from 'node:stream';

/** A request body: bytes, or a function that opens a fresh stream each time (so the request can be replayed). */
export type RequestBody = Buffer | string | (() => Readable | Promise<Readable>);

export interface TransportRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A bare Readable cannot be sent twice: the auth and retry layers give up on replaying it. */
  body?: RequestBody | Readable;
  signal?: AbortSignal;
  /** Token scopes the request needs, e.g. `repository:team/app:pull,push` (Docker token auth). */
  scope?: string[];
  /** Send as is, without answering an auth challenge (a probe of the scheme, where any answer will do). */
  anonymous?: boolean;
}

export interface ResponseBody extends Readable {
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Reads and discards the rest, so that the connection can be reused. */
  dump(): Promise<void>;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  url: URL;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;
export type TransportMiddleware = (next: Transport) => Transport;

/** `compose(base, a, b)` sends through a, then b, then base. */
export function compose(base: Transport, ...middlewares: TransportMiddleware[]): Transport {
  return middlewares.reduceRight<Transport>((next, middleware) => middleware(next), base);
}

export function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function isReplayable(body: TransportRequest['body']): boolean {
  return (
    body === undefined || typeof body === 'string' || Buffer.isBuffer(body) || typeof body === 'function'
  );
}

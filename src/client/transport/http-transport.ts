import { Agent } from 'undici';
import { BerthError } from '../../oci/errors.js';
import { type TlsPolicy, tlsConnectOptions } from './tls-options.js';
import type { ResponseBody, Transport, TransportRequest, TransportResponse } from './transport.js';

export interface HttpTransportOptions {
  tls: (host: string) => TlsPolicy;
  /** Milliseconds without a byte before a request fails: a stall, not a slow large layer. */
  idleTimeout?: number;
  userAgent?: string;
}

/**
 * The base transport: undici, one connection pool per registry host (each host may have its own TLS files).
 * Timeouts are on silence (headers, gaps between body bytes), never on the total time of a transfer.
 */
export function httpTransport(options: HttpTransportOptions): Transport & { close(): Promise<void> } {
  const agents = new Map<string, Agent>();
  const idle = options.idleTimeout ?? 120_000;
  const agentFor = (url: URL): Agent => {
    let agent = agents.get(url.host);
    if (!agent) {
      const connect = url.protocol === 'https:' ? tlsConnectOptions(url.host, options.tls(url.host)) : {};
      agent = new Agent({ connect: { ...connect, timeout: 30_000 }, connections: 16, pipelining: 1 });
      agents.set(url.host, agent);
    }
    return agent;
  };
  const send = async (request: TransportRequest): Promise<TransportResponse> => {
    let body: Buffer | string | NodeJS.ReadableStream | undefined;
    const raw = request.body;
    if (typeof raw === 'function') body = await raw();
    else body = raw;
    const headers: Record<string, string> = {
      'user-agent': options.userAgent ?? 'berth',
      ...request.headers,
    };
    const response = await agentFor(request.url).request({
      origin: request.url.origin,
      path: `${request.url.pathname}${request.url.search}`,
      method: request.method as 'GET',
      headers,
      body: body as Buffer,
      signal: request.signal,
      headersTimeout: idle,
      bodyTimeout: idle,
    });
    return {
      status: response.statusCode,
      headers: response.headers as Record<string, string | string[] | undefined>,
      body: response.body as unknown as ResponseBody,
      url: request.url,
    };
  };
  const transport = async (request: TransportRequest): Promise<TransportResponse> => {
    try {
      return await send(request);
    } catch (error) {
      throw networkError(request.url, error);
    }
  };
  return Object.assign(transport, {
    async close() {
      await Promise.all([...agents.values()].map((agent) => agent.close()));
      agents.clear();
    },
  });
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** A failure to talk to the host at all; `retryable` says whether trying again may help. */
export class NetworkError extends BerthError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly tlsFailure: boolean,
    cause: unknown,
  ) {
    super('NETWORK_ERROR', message, { cause });
  }
}

function networkError(url: URL, error: unknown): unknown {
  if (error instanceof BerthError) return error;
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (e?.name === 'AbortError') return error;
  const code = e?.code ?? e?.cause?.code ?? '';
  const message = e?.cause?.message ?? e?.message ?? String(error);
  const tls = /SSL|TLS|CERT|EPROTO|self.signed|wrong version number/i.test(`${code} ${message}`);
  const hint = tls
    ? ' (a TLS problem: --ca-file, --cert-dir, or --tls-verify=false for a test registry)'
    : '';
  return new NetworkError(
    `cannot reach ${url.host}: ${message}${hint}`,
    RETRYABLE_CODES.has(code),
    tls,
    error,
  );
}

import { Agent, buildConnector } from 'undici';
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
  // The last TLS error a socket of a host reported. A server that refuses the client certificate says so in
  // an alert after the handshake; undici then reports only "other side closed", so the cause is kept here.
  const tlsErrors = new Map<string, Error>();
  const idle = options.idleTimeout ?? 120_000;
  const agentFor = (url: URL): Agent => {
    let agent = agents.get(url.host);
    if (!agent) {
      const tls = url.protocol === 'https:' ? tlsConnectOptions(url.host, options.tls(url.host)) : {};
      const connector = buildConnector({ ...tls, timeout: 30_000 } as buildConnector.BuildOptions);
      const host = url.host;
      const connect: buildConnector.connector = (opts, callback) =>
        connector(opts, (error, socket) => {
          if (error && isTlsError(error)) tlsErrors.set(host, error);
          socket?.on('error', (e: Error) => {
            if (isTlsError(e)) tlsErrors.set(host, e);
          });
          if (error) callback(error, null);
          else callback(null, socket as NonNullable<typeof socket>);
        });
      agent = new Agent({ connect, connections: 16, pipelining: 1 });
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
      throw networkError(request.url, error, tlsErrors.get(request.url.host));
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
    /** The TLS handshake or certificate failed. */
    readonly tlsFailure: boolean,
    /** The server answered a TLS handshake with plain HTTP. */
    readonly plainHttpServer: boolean,
    cause: unknown,
  ) {
    super('NETWORK_ERROR', message, { cause });
  }
}

function isTlsError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return (
    /^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|UNABLE_TO_|EPROTO/.test(e?.code ?? '') ||
    /SSL routines|certificate/i.test(e?.message ?? '')
  );
}

function networkError(url: URL, error: unknown, tlsSeen: Error | undefined): unknown {
  if (error instanceof BerthError) return error;
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (e?.name === 'AbortError') return error;
  let code = e?.code ?? e?.cause?.code ?? '';
  let raw = e?.cause?.message ?? e?.message ?? String(error);
  // undici hides a TLS alert behind "other side closed": the socket told us the real cause.
  if (code === 'UND_ERR_SOCKET' && tlsSeen && url.protocol === 'https:') {
    code = (tlsSeen as NodeJS.ErrnoException).code ?? code;
    raw = tlsSeen.message;
  }
  // OpenSSL messages carry a trailing newline and a source location: keep the reason only.
  const message = raw
    .replace(/\s+/g, ' ')
    .replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):.*$/, '$1')
    .trim();
  const plain = /wrong version number|WRONG_VERSION_NUMBER|packet length too long/i.test(`${code} ${raw}`);
  const tls = plain || isTlsError({ code, message: raw });
  const hint = plain
    ? ' (the server speaks plain HTTP: --tls-verify=false allows that)'
    : tls
      ? ' (a TLS problem: --ca-file, --cert-dir, or --tls-verify=false for a test registry)'
      : '';
  const detail = plain ? 'it answered HTTPS with plain HTTP' : message;
  return new NetworkError(
    `cannot reach ${url.host}: ${detail}${hint}`,
    !tls && RETRYABLE_CODES.has(code),
    tls,
    plain,
    error,
  );
}

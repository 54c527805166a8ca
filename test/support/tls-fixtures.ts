// TLS in front of registries that speak plain HTTP, for the importer's transport-security tests: a throwaway
// PKI made with the `openssl` CLI, a TLS-terminating front (a TCP pipe, or an HTTP proxy that says
// `X-Forwarded-Proto: https` for registries that build absolute upload URLs), and a resolver preload that
// makes a non-loopback name reach 127.0.0.1 in a child process without touching /etc/hosts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Names that resolve to 127.0.0.1 in a child started with `resolverPreload`, and are not loopback names. */
export const TEST_DOMAIN = '.test';
export const NON_LOOPBACK_NAME = 'registry.test';

export interface TestPki {
  dir: string;
  /** The CA that signed the server certificate (PEM). */
  caFile: string;
  /** The server certificate: SANs localhost, 127.0.0.1 and `NON_LOOPBACK_NAME`. */
  serverCert: string;
  serverKey: string;
  /** A second CA, for client certificates only. */
  clientCaFile: string;
  /** A client certificate signed by the client CA (extendedKeyUsage clientAuth). */
  clientCert: string;
  clientKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd: dir });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, cn: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await openssl(dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

async function makeLeaf(
  dir: string,
  name: string,
  cn: string,
  ca: { cert: string; key: string },
  extensions: string[],
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await openssl(dir, ['req', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  await writeFile(ext, `${['basicConstraints=CA:FALSE', ...extensions].join('\n')}\n`);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A throwaway CA with a server certificate, and a separate client CA with a client certificate. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const [ca, clientCa] = await Promise.all([
    makeCa(dir, 'ca', 'berth-test-ca'),
    makeCa(dir, 'client-ca', 'berth-test-client-ca'),
  ]);
  const [server, client] = await Promise.all([
    makeLeaf(dir, 'server', 'localhost', ca, [
      `subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:${NON_LOOPBACK_NAME}`,
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ]),
    makeLeaf(dir, 'client', 'berth-test-client', clientCa, [
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
    ]),
  ]);
  return {
    dir,
    caFile: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCaFile: clientCa.cert,
    clientCert: client.cert,
    clientKey: client.key,
  };
}

export interface TlsFront {
  port: number;
  /** `127.0.0.1:PORT` */
  hostPort: string;
  /** TLS handshakes that completed (with a client certificate the front accepted, when it asks for one). */
  readonly handshakes: number;
  /** Subject CNs of the client certificates presented on completed handshakes. */
  readonly clientSubjects: string[];
  /** Connections that failed before or during the handshake (an untrusted client, plain HTTP, no cert). */
  readonly clientErrors: string[];
  close(): Promise<void>;
}

export interface TlsFrontOptions {
  upstream: { host: string; port: number };
  pki: TestPki;
  /** Require a client certificate signed by the client CA (mutual TLS). */
  requireClientCert?: boolean;
  /**
   * `tcp` (default) pipes the decrypted bytes through unchanged. `http` proxies each request and adds
   * `X-Forwarded-Proto: https`, as a TLS-terminating load balancer does for a registry (Distribution) that
   * writes absolute `Location` URLs from the request's scheme.
   */
  mode?: 'tcp' | 'http';
}

/** A TLS-terminating front on 127.0.0.1 for a plain HTTP registry. */
export async function startTlsFront(options: TlsFrontOptions): Promise<TlsFront> {
  const [key, cert, clientCa] = await Promise.all([
    readFile(options.pki.serverKey),
    readFile(options.pki.serverCert),
    readFile(options.pki.clientCaFile),
  ]);
  const tlsOptions = {
    key,
    cert,
    ...(options.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: clientCa } : {}),
  };
  const sockets = new Set<Socket>();
  const state = { handshakes: 0, clientSubjects: [] as string[], clientErrors: [] as string[] };
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const onSecure = (socket: TLSSocket): void => {
    state.handshakes++;
    const subject = socket.getPeerCertificate()?.subject?.CN;
    if (subject) state.clientSubjects.push(String(subject));
  };
  const { upstream } = options;
  const server =
    options.mode === 'http'
      ? createHttpsServer(tlsOptions, (req, res) => {
          const forward = httpRequest(
            {
              host: upstream.host,
              port: upstream.port,
              method: req.method,
              path: req.url,
              headers: { ...req.headers, 'x-forwarded-proto': 'https' },
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          forward.on('error', () => res.destroy());
          req.pipe(forward);
        })
      : createTlsServer(tlsOptions, (socket) => {
          const up = tcpConnect(upstream.port, upstream.host);
          track(up);
          socket.pipe(up).pipe(socket);
          socket.on('error', () => up.destroy());
          up.on('error', () => socket.destroy());
        });
  server.on('connection', track);
  server.on('secureConnection', onSecure);
  server.on('tlsClientError', (error: Error) => state.clientErrors.push(error.message));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    get handshakes() {
      return state.handshakes;
    },
    get clientSubjects() {
      return state.clientSubjects;
    },
    get clientErrors() {
      return state.clientErrors;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Writes a module that makes `dns.lookup` answer 127.0.0.1 for every name ending in `TEST_DOMAIN`, and
 * returns the `NODE_OPTIONS` that load it into a child. Node's `net` (and so undici) looks names up through
 * `dns.lookup`, so the child connects to 127.0.0.1 while every host string it sees (loopback rules, SNI,
 * certificate name checks, certs.d folders) stays `registry.test:PORT`.
 */
export async function resolverPreload(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'resolve-test-names.mjs');
  await writeFile(
    file,
    `import dns from 'node:dns';
const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  if (typeof host === 'string' && host.toLowerCase().endsWith(${JSON.stringify(TEST_DOMAIN)})) {
    const done = typeof options === 'function' ? options : callback;
    const all = typeof options === 'object' && options !== null && options.all;
    process.nextTick(() =>
      all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4),
    );
    return {};
  }
  return lookup.apply(this, arguments);
};
`,
  );
  const existing = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return `${existing}--import=${pathToFileURL(file).href}`;
}

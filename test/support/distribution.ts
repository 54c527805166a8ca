// CNCF Distribution 2.8.2 (`docker-registry serve CONFIG`, Debian package docker-registry) as the reference
// peer registry of the importer tests: a fresh instance on a free 127.0.0.1 port with its own storage folder.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { isDead } from './berth-process.js';
import { requireTools, type ToolGate } from './containers.js';

export const DISTRIBUTION_BINARY = 'docker-registry';

/** Skips (or, with BERTH_TEST_INTEROP=1, fails) when `docker-registry` is not on PATH. */
export function requireDistribution(...more: string[]): Promise<ToolGate> {
  return requireTools(DISTRIBUTION_BINARY, ...more);
}

export interface DistributionOptions {
  /** A folder of the test's own: config, htpasswd and the storage root go below it. */
  dir: string;
  /** Require these credentials (htpasswd, bcrypt). */
  htpasswd?: { username: string; password: string };
  /** Maintenance read-only mode: pulls work, every write answers 405 UNSUPPORTED. */
  readonly?: boolean;
  /** Docker registry token auth through this token server (see `startTokenServer`). */
  token?: Pick<TokenServer, 'realm' | 'service' | 'issuer' | 'certFile'>;
}

export interface Distribution {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` as image references spell it. */
  hostPort: string;
  /** The filesystem driver's rootdirectory. */
  root: string;
  pid: number;
  /** Its stdout and stderr so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (and a fair chance nobody will in the next second). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** An htpasswd line Distribution accepts: bcryptjs writes `$2b$`, which Go's bcrypt reads. */
export function htpasswdLine(username: string, password: string): string {
  return `${username}:${bcrypt.hashSync(password, 10)}\n`;
}

function configYaml(options: {
  root: string;
  port: number;
  htpasswd?: string | undefined;
  token?: DistributionOptions['token'];
  readonly: boolean;
}): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(options.root)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    ...(options.readonly ? ['    readonly:', '      enabled: true'] : []),
    'http:',
    `  addr: 127.0.0.1:${options.port}`,
    '  secret: berth-importer-tests',
  ];
  if (options.htpasswd) {
    lines.push(
      'auth:',
      '  htpasswd:',
      '    realm: basic-realm',
      `    path: ${JSON.stringify(options.htpasswd)}`,
    );
  } else if (options.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(options.token.realm)}`,
      `    service: ${JSON.stringify(options.token.service)}`,
      `    issuer: ${JSON.stringify(options.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(options.token.certFile)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = once(child, 'exit').then(() => true);
  return Promise.race([exited, sleep(ms).then(() => false)]);
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  // A test that crashed before its teardown must not leave a registry behind.
  for (const child of running) child.kill('SIGKILL');
});

async function startOnce(options: DistributionOptions, port: number): Promise<Distribution> {
  const root = join(options.dir, 'root');
  await mkdir(root, { recursive: true });
  let htpasswd: string | undefined;
  if (options.htpasswd) {
    htpasswd = join(options.dir, 'htpasswd');
    await writeFile(htpasswd, htpasswdLine(options.htpasswd.username, options.htpasswd.password));
  }
  const config = join(options.dir, 'config.yml');
  await writeFile(
    config,
    configYaml({ root, port, readonly: options.readonly ?? false, htpasswd, token: options.token }),
  );
  const child = spawn(DISTRIBUTION_BINARY, ['serve', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_PROXY: '*' },
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.once('exit', () => running.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
    // Node reaps its own children; this only guards against a registry that somehow outlived the kill.
    if (child.pid !== undefined && !isDead(child.pid))
      throw new Error(`docker-registry ${child.pid} still runs`);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot start ${DISTRIBUTION_BINARY}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `docker-registry exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
      );
    }
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      // 401 is ready too: the htpasswd challenge.
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer GET /v2/ in time:\n${output}`);
    }
    await sleep(50);
  }
  return { url, hostPort: `127.0.0.1:${port}`, root, pid: child.pid ?? -1, output: () => output, stop };
}

/**
 * Starts Distribution with delete enabled, upload purging off and the given auth; resolves once GET /v2/
 * answers. Retries on another port when the chosen one was taken in the meantime.
 */
export async function startDistribution(options: DistributionOptions): Promise<Distribution> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      last = error;
      if (!/address already in use/.test(String(error))) throw error;
    }
  }
  throw last;
}

// ---- Token authentication (Docker registry token auth, as Docker Hub and Harbor do it) ----

export interface TokenRequest {
  /** The user the Basic credentials named, or undefined for an anonymous request. */
  user: string | undefined;
  service: string | null;
  scopes: string[];
  /** What the token grants, as `repository:NAME:ACTIONS`. */
  granted: string[];
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token`, for Distribution's `auth.token.realm`. */
  realm: string;
  service: string;
  issuer: string;
  /** The PEM certificate Distribution trusts (`auth.token.rootcertbundle`). */
  certFile: string;
  /** Every request, in order. */
  requests: TokenRequest[];
  /**
   * How long the registry accepts a new token, in seconds (default 300). Distribution allows 60 s of clock
   * leeway, so a short life is set by back-dating `exp`; the response still says `expires_in: 300`, as a
   * token revoked early would.
   */
  lifetime: number;
  close(): Promise<void>;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * A token server for Distribution's `auth: token:`: answers `GET /token?service=…&scope=…` with a JWT (RS256,
 * the signing certificate in `x5c`) granting `users` every action they ask for and anonymous callers `pull`
 * only; wrong credentials get 401. The key and self-signed certificate come from `openssl req -x509`.
 */
export async function startTokenServer(options: {
  dir: string;
  users: Record<string, string>;
}): Promise<TokenServer> {
  await mkdir(options.dir, { recursive: true });
  const keyFile = join(options.dir, 'token-key.pem');
  const certFile = join(options.dir, 'token-cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=berth-test-token-issuer',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const x5c = [new X509Certificate(await readFile(certFile)).raw.toString('base64')];
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenRequest[] = [];
  const state = { lifetime: 300 };

  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    req.resume();
    if (req.method !== 'GET' || url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let user: string | undefined;
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
      if (!name || options.users[name] === undefined || options.users[name] !== rest.join(':')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      user = name;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of scopes) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last <= first) continue;
      const wanted = scope.slice(last + 1).split(',');
      const actions = user ? wanted : wanted.filter((a) => a === 'pull');
      access.push({ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions });
    }
    requests.push({
      user,
      service: url.searchParams.get('service'),
      scopes,
      granted: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`),
    });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c }));
    const claims = base64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: service,
        exp: state.lifetime >= 60 ? now + state.lifetime : now - 60 + state.lifetime,
        nbf: now - 10,
        iat: now - 10,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = base64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    const token = `${header}.${claims}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    realm: `http://127.0.0.1:${address.port}/token`,
    service,
    issuer,
    certFile,
    requests,
    get lifetime() {
      return state.lifetime;
    },
    set lifetime(seconds: number) {
      state.lifetime = seconds;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

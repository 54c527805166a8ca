// CNCF Distribution 2.8.2 (`docker-registry serve CONFIG`, Debian package docker-registry) as the reference
// peer registry of the importer tests: a fresh instance on a free 127.0.0.1 port with its own storage folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

function configYaml(options: { root: string; port: number; htpasswd?: string; readonly: boolean }): string {
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
  await writeFile(config, configYaml({ root, port, readonly: options.readonly ?? false, htpasswd }));
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

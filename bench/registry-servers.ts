import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './run-command.js';

export type ServerKind = 'berth' | 'distribution';

export interface RunningRegistry {
  kind: ServerKind;
  pid: number;
  /** `127.0.0.1:PORT`, as used in image references. */
  hostPort: string;
  url: string;
  /** The folder holding this instance's blobs and metadata. */
  data: string;
  /** The tail of the server's own log, for error reports. */
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

const BERTH_BIN = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
// Generous: on a shared, busy machine (load far above the cores) a server can take tens of seconds to start.
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

/** A free loopback port: the kernel picks one, we release it and hand it to the server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Whether a pid is gone or a zombie (PID 1 here does not reap orphans, see TESTING.md). */
export function isDead(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

function launch(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  return track(child);
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  logFile: string,
  ready?: RegExp,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let seen = '';
  // serve writes its ready lines to stdout with readable logs, to stderr when its logs are JSON (not a TTY).
  const watch = (d: Buffer): void => {
    if (seen.length < 4096) seen += d.toString();
  };
  child.stdout?.on('data', watch);
  child.stderr?.on('data', watch);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (!ready || ready.test(seen)) {
      const ok = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
        // 401 is a ready registry that wants credentials.
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new Error(`${url} did not become ready:\n${log.slice(-4000)}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
}

function logTail(logFile: string): () => Promise<string> {
  return async () => (await readFile(logFile, 'utf8').catch(() => '')).slice(-4000);
}

/**
 * Runs the compiled Berth (`node bin/berth.js serve`) on a fresh data folder, with `--auth none` unless
 * `auth` asks for token auth (then `adminPassword` is the first admin's).
 */
export async function startBerth(
  root: string,
  options: { auth?: 'none' | 'token'; adminPassword?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningRegistry> {
  const data = join(root, 'data');
  await mkdir(data, { recursive: true });
  const port = await freePort();
  const hostPort = `127.0.0.1:${port}`;
  const url = `http://${hostPort}`;
  const logFile = join(root, 'server.log');
  const child = launch(
    process.execPath,
    [BERTH_BIN, 'serve', '--auth', options.auth ?? 'none', '--listen', hostPort, '--data', data],
    logFile,
    {
      ...process.env,
      BERTH_LOG_LEVEL: 'warn',
      ...(options.adminPassword ? { BERTH_ADMIN_PASSWORD: options.adminPassword } : {}),
      ...options.env,
    },
  );
  const stop = stopper(child);
  try {
    await waitUntilReady(child, url, logFile, /berth registry ready at/);
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind: 'berth', pid: child.pid as number, hostPort, url, data, logTail: logTail(logFile), stop };
}

/**
 * Runs CNCF Distribution on a fresh root directory with its packaged defaults (filesystem driver, in-memory
 * blob descriptor cache), no access log and error-level logs only (its lowest; it still logs each 404 a
 * client's HEAD probe gets, a few hundred lines per run, into a file).
 */
export async function startDistribution(root: string): Promise<RunningRegistry> {
  const data = join(root, 'data');
  await mkdir(data, { recursive: true });
  const port = await freePort();
  const hostPort = `127.0.0.1:${port}`;
  const url = `http://${hostPort}`;
  const config = join(root, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${data}`,
      '  cache:',
      '    blobdescriptor: inmemory',
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${hostPort}`,
      '',
    ].join('\n'),
  );
  const logFile = join(root, 'server.log');
  const child = launch('docker-registry', ['serve', config], logFile, { ...process.env });
  const stop = stopper(child);
  try {
    await waitUntilReady(child, url, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kind: 'distribution',
    pid: child.pid as number,
    hostPort,
    url,
    data,
    logTail: logTail(logFile),
    stop,
  };
}

import { type ChildProcess, spawn } from 'node:child_process';

/** Every child still running, so that an error or a signal anywhere can stop them all, by pid and nothing broader. */
const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killTracked(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Killed after this long; every load the bench sends is bounded in time. */
  timeoutMs: number;
  cwd?: string;
}

export interface StartedCommand {
  child: ChildProcess;
  /** Settles when the command has exited and its output is closed; never rejects on a non-zero exit. */
  exited: Promise<CommandResult & { code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a tracked command with a time limit; the caller decides what its exit means (it may kill it). */
export function startCommand(command: string, args: string[], options: RunOptions): StartedCommand {
  const started = performance.now();
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  })
    .finally(() => clearTimeout(timer))
    .then(([code, signal]) => ({
      code,
      signal,
      stdout,
      stderr,
      seconds: (performance.now() - started) / 1000,
    }));
  return { child, exited };
}

/** Runs a command to completion and fails, with its output, unless it exits 0. */
export async function runCommand(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const { code, signal, stdout, stderr, seconds } = await startCommand(command, args, options).exited;
  if (code !== 0) {
    const why = signal
      ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}`
      : `exited ${code}`;
    throw new Error(`${command} ${args.join(' ')} ${why}\n${stderr.slice(-4000)}${stdout.slice(-2000)}`);
  }
  return { stdout, stderr, seconds };
}

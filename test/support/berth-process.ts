import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface BerthProcess {
  child: ChildProcess;
  url: string;
  hostPort: string;
  output(): string;
  /** Sends a signal and waits for the process to exit; returns its exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/** Runs `berth serve` as a child process (the real CLI through tsx) and waits until it prints its URL. */
export async function spawnBerth(args: string[], env: NodeJS.ProcessEnv = {}): Promise<BerthProcess> {
  // Without an explicit --auth, a test server runs without access checks (their own tests turn them on).
  const withAuth = args.includes('--auth') ? args : ['--auth', 'none', ...args];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...withAuth], {
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth did not start in time:\n${output}`)), 30_000);
    const check = (): void => {
      const m = /berth registry ready at (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    // With JSON logs (not a terminal) the ready line goes to stderr, beside the JSON on stdout.
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with ${code} before it was ready:\n${output}`));
    });
  });
  const exited = once(child, 'exit');
  return {
    child,
    url,
    hostPort: url.replace(/^http:\/\//, ''),
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill(signal);
      const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null];
      return code ?? sig;
    },
  };
}

/** Whether a pid is gone or a zombie (PID 1 here does not reap, see TESTING.md). */
export function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

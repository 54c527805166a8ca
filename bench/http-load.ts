import { runCommand } from './run-command.js';

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  latencyP50Ms?: number | undefined;
  latencyP99Ms?: number | undefined;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

function percentile(output: string, p: string): number | undefined {
  const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  return m ? toMs(m[1] as string, m[2] as string) : undefined;
}

/** GET load with wrk for a fixed time; any non-2xx answer or socket error fails the run, it would skew rps. */
export async function wrkGet(
  url: string,
  options: { connections: number; threads: number; seconds: number; headers: Record<string, string> },
): Promise<WrkResult> {
  const args = [
    '-t',
    String(options.threads),
    '-c',
    String(options.connections),
    '-d',
    `${options.seconds}s`,
  ];
  args.push('--timeout', '5s', '--latency');
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const { stdout } = await runCommand('wrk', args, { timeoutMs: (options.seconds + 30) * 1000 });
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout);
  const total = /^\s*(\d+) requests in/m.exec(stdout);
  if (!rps || !total) throw new Error(`cannot read wrk output:\n${stdout}`);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const socket = /Socket errors: (.*)$/m.exec(stdout);
  if (bad || socket) throw new Error(`wrk saw failures against ${url}:\n${stdout}`);
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(total[1]),
    latencyP50Ms: percentile(stdout, '50'),
    latencyP99Ms: percentile(stdout, '99'),
  };
}

/** Downloads a blob once with curl into /dev/null; returns seconds. curl is the cheapest client there is. */
export async function curlGet(url: string, expectedBytes: number): Promise<number> {
  const { stdout } = await runCommand(
    'curl',
    ['-sS', '-o', '/dev/null', '--max-time', '600', '-w', '%{http_code} %{size_download} %{time_total}', url],
    { timeoutMs: 610_000 },
  );
  const [code, size, seconds] = stdout.trim().split(' ');
  if (code !== '200' || Number(size) !== expectedBytes) {
    throw new Error(`GET ${url}: status ${code}, ${size} bytes, expected 200 and ${expectedBytes}`);
  }
  return Number(seconds);
}

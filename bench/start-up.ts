// npm run bench -- startup: how long the compiled CLI takes to start (`berth --version`, `berth push --help`)
// against `node -e 0`, and the resident memory of an idle `berth serve`. Runs alternate; medians are printed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber } from './bench-settings.js';
import { MiB, median, renderColumns } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/berth.js');
const RUNS = envNumber('BENCH_RUNS', 10);
const SERVE_RUNS = envNumber('BENCH_SERVE_RUNS', 3);
/** How long the server idles after its ready line before its memory is read (start-up garbage settles). */
const IDLE_MS = envNumber('BENCH_IDLE_MS', 2000);
/** The target for an idle registry. */
const IDLE_TARGET_MIB = 80;

const COMMANDS: { name: string; args: string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'berth --version', args: [BIN, '--version'] },
  { name: 'berth push --help', args: [BIN, 'push', '--help'] },
];

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${run.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** VmRSS of an idle `berth serve` on a fresh data folder, IDLE_MS after it says it is ready. */
async function idleServeRss(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-serve-'));
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.includes('registry ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`berth serve exited with ${code}: ${seen}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
    return (kib * 1024) / MiB;
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const times = new Map(COMMANDS.map((c) => [c.name, [] as number[]]));
for (let run = 0; run < RUNS; run++)
  for (const command of COMMANDS) times.get(command.name)?.push(wallMs(command.args));
const rss: number[] = [];
for (let run = 0; run < SERVE_RUNS; run++) rss.push(await idleServeRss());

const base = median(times.get('node -e 0') ?? []);
const rows = COMMANDS.map(({ name }) => {
  const ms = median(times.get(name) ?? []);
  return [name, ms.toFixed(0), (ms / base).toFixed(2), (ms - base).toFixed(0)];
});
process.stdout.write(
  `\nStart-up, compiled CLI (medians of ${RUNS}, alternating)\n${renderColumns(['command', 'ms', '× node -e 0', 'ms over node'], rows)}\n`,
);
const idle = median(rss);
process.stdout.write(
  `\nberth serve idle RSS: ${idle.toFixed(1)} MiB (median of ${SERVE_RUNS}; runs ${rss.map((r) => r.toFixed(1)).join(', ')}; target under ${IDLE_TARGET_MIB} MiB: ${idle < IDLE_TARGET_MIB ? 'met' : 'missed'})\n`,
);
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(
  join(ROOT, '.bench/start-up.json'),
  `${JSON.stringify({ runs: RUNS, commandsMs: Object.fromEntries(times), serveIdleRssMiB: rss }, null, 2)}\n`,
);

// npm run bench [-- import|registry|startup ...]: runs the benchmarks named (default: all), one process each, building
// Berth once first. Each benchmark prints its own table and writes its own JSON into .bench/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: Record<string, string> = {
  registry: 'registry-vs-distribution.ts',
  import: 'import-vs-skopeo.ts',
  auth: 'auth-overhead.ts',
  scan: 'scan-throughput.ts',
  startup: 'start-up.ts',
  s3: 's3-vs-filesystem.ts',
  observability: 'observability.ts',
  gc: 'gc.ts',
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; choose from: ${Object.keys(BENCHMARKS).join(', ')}\n`,
  );
  process.exit(2);
}
const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);

const env = { ...process.env };
if (env.BENCH_SKIP_BUILD !== '1') {
  process.stderr.write('building Berth (npm run build) so compiled code is measured, not tsx\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  env.BENCH_SKIP_BUILD = '1';
}

let status = 0;
for (const name of names) {
  const file = fileURLToPath(new URL(BENCHMARKS[name] as string, import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, stdio: 'inherit' });
  // A signal ends the whole run; a failed benchmark does not keep the next one from running.
  if (run.signal) process.exit(130);
  if (run.status !== 0) status = run.status ?? 1;
}
process.exit(status);

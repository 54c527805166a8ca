#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's own test runner (Node 20 has no glob for it).
//   npm test                      what needs only Node and the npm packages; suites needing more are skipped
//   npm run test:full             everything: a skip is a failure (CI: .ci/run)
//   npm test -- test/interop      narrows the run to these files or folders
// The tests get a fresh empty HOME, so nothing they do reaches the caller's; the run fails if they wrote to it.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const reporter = fileURLToPath(new URL('./test-events-reporter.mjs', import.meta.url));
/** Skips whose reason starts with this do not fail a full run: checks for which no machine here has the input. */
const OPTIONAL = 'optional:';

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    collect(join(path, entry), out);
  }
  return out;
}

function listTree(dir, base = dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    out.push(relative(base, path));
    if (entry.isDirectory()) listTree(path, base, out);
  }
  return out;
}

const args = process.argv.slice(2);
// BERTH_TEST_INTEROP=1 (what CI used to set) already made every tool mandatory: it means a full run too.
const full =
  args.includes('--full') || process.env.BERTH_TEST_FULL === '1' || process.env.BERTH_TEST_INTEROP === '1';
const targets = args.filter((a) => a !== '--full');
const files = (targets.length > 0 ? targets : ['src', 'test'])
  .flatMap((t) => collect(resolve(root, t), []))
  .map((path) => relative(root, path))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
const home = join(work, 'home');
mkdirSync(home);
const eventsFile = join(work, 'events.jsonl');
const env = { ...process.env, HOME: home };
// The caller's own settings must not steer the tests: everything below HOME now derives from the empty one.
for (const name of [
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_CACHE_HOME',
  'XDG_STATE_HOME',
  'DOCKER_CONFIG',
  // Set when this runner is itself started by a test: node --test would then report to that test's runner.
  'NODE_TEST_CONTEXT',
]) {
  delete env[name];
}
for (const name of Object.keys(env)) {
  if (name.startsWith('BERTH_') && !name.startsWith('BERTH_TEST_') && name !== 'BERTH_KEEP_TEMP')
    delete env[name];
}

let postgresDir;
let cephDir;
if (full) {
  env.BERTH_TEST_FULL = '1';
  // Built on first use by the suites that read them (scripts/build-scan-fixtures.sh), removed afterwards.
  env.BERTH_TEST_SCAN_FIXTURES ||= join(work, 'scan-fixtures');
  if (!env.BERTH_TEST_POSTGRES_URL) {
    // Its own folder that the postgres user may enter (mkdtemp makes folders only their owner can).
    postgresDir = mkdtempSync(join(tmpdir(), 'berth-test-postgres-'));
    chmodSync(postgresDir, 0o755);
    const started = spawnSync('bash', [join(root, 'scripts/throwaway-postgres.sh'), 'up', postgresDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (started.status === 0) env.BERTH_TEST_POSTGRES_URL = started.stdout.trim();
    else console.error('could not start a throwaway PostgreSQL: the PostgreSQL suite will fail');
  }
  if (!env.BERTH_TEST_S3_ENDPOINT) {
    cephDir = mkdtempSync(join(tmpdir(), 'berth-test-ceph-'));
    const started = spawnSync('bash', [join(root, 'scripts/throwaway-ceph.sh'), 'up', cephDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (started.status === 0) {
      // DIR/env holds `export NAME=value` lines: the endpoint and the AWS credentials for it.
      for (const line of readFileSync(join(cephDir, 'env'), 'utf8').split('\n')) {
        const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
        if (match) env[match[1]] = match[2];
      }
    } else console.error('could not start a throwaway Ceph radosgw: the S3 suites will fail');
  }
}

const concurrency = env.BERTH_TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${eventsFile}`,
    `--test-concurrency=${concurrency}`,
    // Node applies this to each file as a whole too: on a loaded machine test/admin/admin-cli.test.ts alone
    // took over 10 minutes, so 20, which still stops a hung test well within CI's 40.
    '--test-timeout=1200000',
    ...files,
  ],
  { cwd: root, env, stdio: 'inherit' },
);
// Ctrl-C reaches the test runner too (same process group); SIGTERM is passed on. Either way this waits for it
// to finish, so the temporary folders are removed.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
const [code, signal] = await new Promise((done) => child.on('close', (c, s) => done([c, s])));

const events = [];
try {
  for (const line of readFileSync(eventsFile, 'utf8').split('\n')) if (line) events.push(JSON.parse(line));
} catch {
  // No events: the runner itself failed before any test ran; its status says so below.
}
const writtenToHome = listTree(home);
if (postgresDir) {
  spawnSync('bash', [join(root, 'scripts/throwaway-postgres.sh'), 'down', postgresDir]);
  rmSync(postgresDir, { recursive: true, force: true });
}
if (cephDir) {
  spawnSync('bash', [join(root, 'scripts/throwaway-ceph.sh'), 'down', cephDir]);
  rmSync(cephDir, { recursive: true, force: true });
}
if (!process.env.BERTH_KEEP_TEMP) rmSync(work, { recursive: true, force: true });

const where = (e) => (e.file ? relative(root, e.file) : '?');
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const failures = [];
const skippedSuites = new Map();
const optionalSkips = new Map();
for (const e of events) {
  if (e.skip !== undefined) {
    totals.skipped++;
    const line = `${where(e)}: ${e.skip || 'skipped'}`;
    const into = e.skip.startsWith(OPTIONAL) ? optionalSkips : skippedSuites;
    into.set(line, (into.get(line) ?? 0) + 1);
  } else if (e.todo !== undefined) {
    totals.todo++;
  } else if (e.outcome === 'pass') {
    if (!e.suite) totals.pass++;
  } else if (e.failureType === 'cancelledByParent') {
    totals.cancelled++;
    failures.push(`cancelled ${where(e)}: ${e.name}`);
  } else if (e.failureType === 'subtestsFailed') {
    // A suite whose tests failed: those are counted and listed already.
  } else {
    totals.fail++;
    const what = e.suite ? `suite "${e.name}" (${e.failureType})` : e.name;
    failures.push(`failed ${where(e)}: ${what}: ${e.message}`);
  }
}

const problems = [];
if (totals.fail > 0) problems.push(`${totals.fail} failed`);
if (totals.cancelled > 0) problems.push(`${totals.cancelled} cancelled (a failed hook or a stopped run)`);
if (full && skippedSuites.size > 0) problems.push(`${skippedSuites.size} skipped in a full run`);
if (writtenToHome.length > 0) problems.push('tests wrote to HOME');
if (signal || (code !== 0 && problems.length === 0)) {
  problems.push(`node --test ended with ${signal ?? `status ${code}`}`);
}

const out = [''];
out.push('berth test summary');
for (const [line, count] of skippedSuites)
  out.push(`skipped ${line}${count > 1 ? ` (${count} tests or suites)` : ''}`);
for (const [line] of optionalSkips) out.push(`not run ${line}`);
for (const line of failures.slice(0, 50)) out.push(line);
if (failures.length > 50) out.push(`… and ${failures.length - 50} more failed or cancelled`);
if (writtenToHome.length > 0) {
  out.push(
    `tests wrote to HOME (tests must use temporary folders): ${writtenToHome.slice(0, 10).join(', ')}`,
  );
}
out.push(
  `${full ? 'full run' : 'run'}: ${files.length} files · pass ${totals.pass} · fail ${totals.fail} · ` +
    `cancelled ${totals.cancelled} · skipped ${totals.skipped} · todo ${totals.todo}`,
);
if (!full && skippedSuites.size > 0) {
  out.push(
    'the skipped suites need what each line names; npm run test:full runs everything and fails on a skip',
  );
}
out.push(problems.length > 0 ? `FAILED: ${problems.join(', ')}` : 'OK');
console.log(out.join('\n'));
process.exit(problems.length > 0 ? 1 : 0);

// scripts/run-tests.mjs, the runner behind `npm test` and `npm run test:full`, run on small test files of
// this test's own (issue 17: `npm test` ended `fail 0 · cancelled 20` and built scan fixtures under ~/.cache).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '../support/temp.js';

const RUNNER = fileURLToPath(new URL('../../scripts/run-tests.mjs', import.meta.url));
const TOOL_GATE = pathToFileURL(fileURLToPath(new URL('../support/tool-gate.ts', import.meta.url))).href;
const SCAN_FIXTURES = pathToFileURL(
  fileURLToPath(new URL('../support/scan-fixtures.ts', import.meta.url)),
).href;

interface RunnerResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The runner's own summary, from its `berth test summary` line on. */
  summary: string;
}

/** The runner as `npm test` (or `npm run test:full` with `--full`) starts it, without the caller's test settings. */
function runRunner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunnerResult> {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(clean)) if (name.startsWith('BERTH_TEST_')) delete clean[name];
  clean.BERTH_TEST_CONCURRENCY = '1';
  // So that a --full run here does not start a PostgreSQL that none of these files uses.
  clean.BERTH_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:1/unused';
  return new Promise((done) => {
    execFile(
      process.execPath,
      [RUNNER, ...args],
      { env: { ...clean, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        const at = stdout.indexOf('berth test summary');
        done({ code, stdout, stderr, summary: at < 0 ? '' : stdout.slice(at) });
      },
    );
  });
}

/** A test file in a fresh folder of its own, an ES module like the repository's (top-level await works). */
async function testFile(t: Parameters<typeof tempDir>[0], name: string, text: string): Promise<string> {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

describe('the test runner', { concurrency: true }, () => {
  test('a test cancelled by a failing before hook fails the run and is counted as cancelled', async (t) => {
    const file = await testFile(
      t,
      'hook.test.ts',
      `import { before, describe, test } from 'node:test';
describe('needs a server', () => {
  before(() => { throw new Error('could not start'); });
  test('one', () => {});
  test('two', () => {});
});
test('fine', () => {});
`,
    );
    const result = await runRunner([file]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.summary, /pass 1 · fail 1 · cancelled 2 · skipped 0/);
    assert.match(
      result.summary,
      /failed .*hook\.test\.ts: suite "needs a server" \(hookFailed\): could not start/,
    );
    assert.match(result.summary, /cancelled .*hook\.test\.ts: one/);
    assert.match(result.summary, /FAILED: 1 failed, 2 cancelled/);
  });

  test('a suite gated on a missing tool: one line naming it under npm test, a failure under test:full', async (t) => {
    const file = await testFile(
      t,
      'tool.test.ts',
      `import { before, describe, test } from 'node:test';
import { requireTools } from '${TOOL_GATE}';
const gate = await requireTools('berth-test-no-such-tool');
describe('needs a tool', { skip: gate.skip }, () => {
  before(() => gate.assertAvailable());
  test('one', () => {});
  test('two', () => {});
});
test('fine', () => {});
`,
    );
    const plain = await runRunner([file]);
    assert.equal(plain.code, 0, plain.stdout);
    const skipped = plain.summary.split('\n').filter((line) => line.startsWith('skipped '));
    assert.equal(skipped.length, 1, plain.summary);
    assert.match(
      skipped[0] ?? '',
      /^skipped .*tool\.test\.ts: berth-test-no-such-tool not installed \(apt-get install -y berth-test-no-such-tool\)$/,
    );
    assert.match(plain.summary, /pass 1 · fail 0 · cancelled 0 · skipped 1/);
    assert.match(plain.summary, /\nOK$/m);

    const full = await runRunner(['--full', file]);
    assert.equal(full.code, 1, full.stdout);
    assert.match(full.summary, /needs this: berth-test-no-such-tool not installed/);
    assert.match(full.summary, /FAILED: 1 failed, 2 cancelled/);
  });

  test('a skip that no gate handles still fails a full run', async (t) => {
    const file = await testFile(
      t,
      'skip.test.ts',
      `import { test } from 'node:test';\ntest('later', { skip: 'not today' }, () => {});\n`,
    );
    const full = await runRunner(['--full', file]);
    assert.equal(full.code, 1, full.stdout);
    assert.match(full.summary, /skipped .*skip\.test\.ts: not today/);
    assert.match(full.summary, /FAILED: 1 skipped in a full run/);
  });

  test('scan fixtures are not built unless asked for: their suites skip under npm test', async (t) => {
    const file = await testFile(
      t,
      'fixtures.test.ts',
      `import { before, describe, test } from 'node:test';
import { scanFixtures, scanFixturesGate } from '${SCAN_FIXTURES}';
describe('reads a debootstrap root', { skip: scanFixturesGate.skip }, () => {
  before(async () => { await scanFixtures(); });
  test('one', () => {});
});
`,
    );
    const result = await runRunner([file]);
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.summary,
      /skipped .*fixtures\.test\.ts: scan fixtures not asked for \(BERTH_TEST_SCAN_FIXTURES=DIR/,
    );
  });

  test('tests run with an empty HOME of their own, and writing to it fails the run', async (t) => {
    const file = await testFile(
      t,
      'home.test.ts',
      `import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
test('writes a cache into HOME', () => {
  assert.notEqual(homedir(), ${JSON.stringify(process.env.HOME ?? '')});
  assert.deepEqual(readdirSync(homedir()), []);
  mkdirSync(join(homedir(), '.cache', 'berth-test'), { recursive: true });
  writeFileSync(join(homedir(), '.cache', 'berth-test', 'x'), 'x');
});
`,
    );
    const result = await runRunner([file]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.summary, /pass 1 · fail 0/);
    assert.match(result.summary, /tests wrote to HOME .*\.cache\/berth-test\/x/);
    assert.match(result.summary, /FAILED: tests wrote to HOME/);
  });
});

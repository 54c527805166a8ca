import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../support/temp.js';

/** Modules `berth serve` loads for decisions it makes itself (issues 12 and 14). */
const SERVER_DECISIONS = new Set([
  'policy/tag-immutability.ts',
  'policy/admission-policy.ts',
  'policy/admission-check.ts',
  'policy/path-glob.ts',
  'trust/cosign-key.ts',
  'trust/simple-signing.ts',
  'scan/types.ts',
  'scan/severity.ts',
  'scan/text-order.ts',
]);

// What a start loads is what it costs: these tests list the modules a real process loads and name the ones
// that belong to other commands.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const TRACE = join(ROOT, 'test/support/module-trace.mjs');

/** The modules of src/ (as `cli/program.ts`) and the npm packages a trace lists. */
function loaded(trace: string): { sources: string[]; packages: Set<string> } {
  const urls = trace.split('\n').filter(Boolean);
  const sources = urls
    .filter((url) => url.startsWith('file://') && !url.includes('/node_modules/'))
    .map((url) => fileURLToPath(url))
    .filter((path) => path.startsWith(join(ROOT, 'src/')))
    .map((path) => path.slice(join(ROOT, 'src/').length));
  const packages = new Set(
    urls
      .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  // The TypeScript loader the tests run under is not Berth's.
  for (const own of ['tsx', 'esbuild', 'get-tsconfig', 'resolve-pkg-maps']) packages.delete(own);
  return { sources, packages };
}

/** Resolves when the stream has carried `text`. */
function lineOf(stream: NodeJS.ReadableStream, text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes(text)) resolve();
    });
  });
}

test('berth --version and push --help load commander and the command definitions, no use case', async (t) => {
  const dir = await tempDir(t);
  for (const args of [['--version'], ['push', '--help']]) {
    const out = join(dir, `${args.join('')}.trace`);
    await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', TRACE, CLI, ...args], {
      env: { ...process.env, BERTH_MODULE_TRACE: out },
    });
    const { sources, packages } = loaded(await readFile(out, 'utf8'));
    assert.ok(sources.includes('cli/push-command.ts'), `${args.join(' ')}: the trace lists the CLI`);
    assert.deepEqual([...packages], ['commander'], `${args.join(' ')}: packages loaded`);
    // Beyond cli/: the vocabulary flags are parsed with and the constants help texts name.
    const beyond = sources.filter(
      (path) =>
        !path.startsWith('cli/') &&
        !/^oci\/(errors|byte-size|reference|digest|names)\.ts$/.test(path) &&
        !/^client\/(admin-address|image-location|platform|advisory-db-maintenance)\.ts$/.test(path) &&
        path !== 'scan/osv/osv-export.ts',
    );
    assert.deepEqual(beyond, [], `${args.join(' ')}: modules beyond the command definitions`);
    assert.ok(
      !sources.some((path) => path.startsWith('cli/output/copy-progress')),
      'the progress bars load with a push',
    );
  }
});

test('berth serve loads neither the importer, scan, policy, trust (but the server-side decisions) nor the PostgreSQL driver and Ajv', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'serve.trace');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      TRACE,
      CLI,
      'serve',
      '--data',
      join(dir, 'data'),
      '--listen',
      '127.0.0.1:0',
    ],
    { env: { ...process.env, BERTH_MODULE_TRACE: out }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.after(() => child.kill());
  const exited = once(child, 'exit').then(([code]) => assert.fail(`serve exited with ${code}`));
  // The ready line comes once the server listens, after everything a start loads; then the trace is asked for.
  await Promise.race([lineOf(child.stderr, 'registry ready'), exited]);
  child.kill('SIGUSR2');
  await Promise.race([lineOf(child.stderr, 'module trace written'), exited]);
  const { sources, packages } = loaded(await readFile(out, 'utf8'));
  assert.ok(sources.includes('main/server.ts'), 'the trace lists the server');
  assert.ok(sources.includes('metadata/sqlite.ts'), 'the trace lists the SQLite store');
  const elsewhere = sources.filter(
    (path) =>
      // The server's own decisions: tag immutability on every tagged push, a project's admission policy at
      // push (with the scan vocabulary it names), cosign signatures against a trust policy at pull.
      (/^(scan\/(?!osv\/osv-export\.ts$)|policy\/|trust\/|tls\/)/.test(path) &&
        !SERVER_DECISIONS.has(path)) ||
      (path.startsWith('client/') &&
        !/^client\/(admin-address|image-location|platform|advisory-db-maintenance)\.ts$/.test(path)) ||
      path.startsWith('cli/output/copy-progress') ||
      path === 'metadata/postgres.ts',
  );
  assert.deepEqual(elsewhere, [], 'modules only other commands (or other configurations) need');
  for (const name of ['undici', 'pg', 'ajv', '@fastify/ajv-compiler', 'cli-progress', 'tar-stream', 'yauzl'])
    assert.ok(!packages.has(name), `serve loads ${name}`);
});

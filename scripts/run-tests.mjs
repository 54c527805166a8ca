#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's own test runner (Node 20 has no glob for it).
// Arguments narrow the run: `npm test -- test/interop` or `npm test -- src/oci/digest.test.ts`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith('.test.ts')) out.push(relative(root, path));
    return out;
  }
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    collect(join(path, entry), out);
  }
  return out;
}

const args = process.argv.slice(2);
const targets = args.length > 0 ? args : ['src', 'test'];
const files = targets.flatMap((t) => collect(join(root, t), [])).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=600000',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);

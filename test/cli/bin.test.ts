import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A clone before `npm run build`: the real package.json and bin/berth.js, no dist/. */
async function unbuiltClone(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'src'));
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await copyFile(join(ROOT, 'bin', 'berth.js'), join(dir, 'bin', 'berth.js'));
  return dir;
}

test('bin/berth.js without dist/ says so in one line and exits 1', async (t) => {
  const clone = await unbuiltClone(t);
  const result = await run(process.execPath, [join(clone, 'bin', 'berth.js'), '--version'], clone);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^berth: the compiled CLI \(dist\/\) is missing: run `npm run build` in .+\n$/);
});

test('npx berth (npm exec --offline) runs the clone’s own bin, from a subfolder too, and never asks the registry', async (t) => {
  const clone = await unbuiltClone(t);
  // A cache of its own, empty: with --offline any registry lookup would fail with ENOTCACHED. Scripts off:
  // `prepare` would build dist/, which this copy has no sources for.
  const cache = await tempDir(t);
  const result = await run('npm', ['exec', '--offline', '--', 'berth', '--version'], join(clone, 'src'), {
    npm_config_cache: cache,
    npm_config_ignore_scripts: 'true',
    npm_config_update_notifier: 'false',
  });
  // The message comes from this clone's bin/berth.js: npm resolved `berth` to the package in the folder.
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.stderr.includes(`run \`npm run build\` in ${clone}`), result.stderr);
  assert.doesNotMatch(result.stderr, /ENOTCACHED|E404|registry/);
});

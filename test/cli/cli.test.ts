import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { tempDir } from '../support/temp.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function berth(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      {
        env: { ...process.env, ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('help and version', async () => {
  const help = await berth(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /serve/);
  assert.match((await berth(['serve', '--help'])).stdout, /--listen <host:port>/);
  assert.match((await berth(['--version'])).stdout, /^\d+\.\d+\.\d+/);
});

test('config default prints the commented default, config check validates', async (t) => {
  const printed = await berth(['config', 'default']);
  assert.equal(printed.code, 0);
  assert.match(printed.stdout, /^# Berth configuration/);
  assert.equal(YAML.parse(printed.stdout).listen, '127.0.0.1:5000');
  const dir = await tempDir(t);
  const good = join(dir, 'good.yaml');
  await writeFile(good, 'listen: 0.0.0.0:5001\n');
  const checked = await berth(['config', 'check', '--json', '--config', good], {
    BERTH_REGISTRY_DELETES: 'false',
  });
  assert.equal(checked.code, 0);
  const effective = JSON.parse(checked.stdout);
  assert.equal(effective.listen, '0.0.0.0:5001');
  assert.equal(effective.registry.deletes, false);
  assert.match(
    (await berth(['config', 'env'])).stdout,
    /BERTH_METADATA_POSTGRES_URL\tmetadata\.postgres\.url/,
  );
});

test('errors are one line on stderr with a non-zero exit', async (t) => {
  const dir = await tempDir(t);
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'registry:\n  maxManifestSize: tiny\n');
  const result = await berth(['config', 'check', '--config', bad]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /^berth: config key registry\.maxManifestSize/);
  const unknown = await berth(['frobnicate']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown command/);
});

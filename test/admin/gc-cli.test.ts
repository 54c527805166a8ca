// `berth gc` as a child process against a real Berth with access checks on: a dry run and a real run with
// --json, --history, --status, a bad --grace, and a caller who is no system admin.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepoName } from '../../src/oci/names.js';
import {
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  type CliResult,
} from '../importer/importer-fixtures.js';
import { randomBlob } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN_PASSWORD = 'admin-password-1';
const scope = fileScope();
const clock = new ManualClock(Date.now());
let server: RunningServer;
let work: string;
let env: BerthEnv;

const gc = (args: string[], password = ADMIN_PASSWORD, user = 'admin'): Promise<CliResult> =>
  berth(env, ['gc', ...args, '--server', server.url, '-u', user, '--password-stdin'], { input: password });

before(async () => {
  work = await tempDir(scope, 'berth-gc-cli-');
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN_PASSWORD,
    clock,
  });
  env = await berthEnv(join(work, 'env'), { PATH: join(work, 'no-helpers') });
  // Two blobs nobody references, pushed through the use case (no manifest will ever name them).
  for (const size of [100, 200]) {
    const blob = randomBlob(size);
    await server.registry.uploadMonolithic('team/junk' as RepoName, blob.digest as Digest, {
      body: Readable.from([blob.bytes]),
      length: size,
    });
  }
});
after(() => server.close());

test('berth gc --dry-run reports, berth gc frees, --history lists both, --status shows the last', async () => {
  const fresh = JSON.parse(assertOk(await gc(['--dry-run', '--json'])).stdout) as Record<string, unknown>;
  assert.equal(fresh.status, 'succeeded');
  assert.equal(fresh.blobsFreed, 0, 'within the grace period nothing would go');
  clock.advance(2 * 3_600_000);
  const dry = JSON.parse(assertOk(await gc(['--dry-run', '--json'])).stdout) as Record<string, unknown>;
  assert.equal(dry.dryRun, true);
  assert.equal(dry.blobsFreed, 2);
  assert.equal(dry.bytesFreed, 300);
  const real = assertOk(await gc(['--grace', '30m']));
  assert.match(real.stdout, /freed 2 blobs/);
  const again = JSON.parse(assertOk(await gc(['--json'])).stdout) as Record<string, unknown>;
  assert.equal(again.blobsFreed, 0);
  const history = JSON.parse(assertOk(await gc(['--history', '--json'])).stdout) as { runs: unknown[] };
  assert.equal(history.runs.length, 4);
  const status = JSON.parse(assertOk(await gc(['--status', '--json'])).stdout) as { run: { id: number } };
  assert.equal(status.run.id, (history.runs[0] as { id: number }).id);
});

test('a bad --grace is a usage error; a caller who is no system admin is refused', async () => {
  assertOneLineFailure(await gc(['--grace', 'soon']), /--grace/);
  const created = await fetch(new URL('/api/v1/users', server.url), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ name: 'dev', password: 'dev-password-1' }),
  });
  assert.equal(created.status, 201, await created.text());
  assertOneLineFailure(await gc(['--dry-run'], 'dev-password-1', 'dev'), /system administrators/);
});

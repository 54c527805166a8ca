// What `berth push` and `berth import` say and do, against a real Berth with access checks on (issue 17,
// "Output that tells the truth"): a refused push names the permission, the repository and the account;
// `import` pushes only the tags it lists. Images are OCI layouts written here, so no other tool is needed.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import type { RunningServer } from '../../src/main/server.js';
import { type Account, addRobot, basic } from '../support/access-fixtures.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import {
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  bigLayout,
  countingProxy,
  describeRun,
  MiB,
  spawnBerth,
} from './importer-fixtures.js';

const ADMIN = { name: 'admin', password: 'admin-password-1' } satisfies Account;

// Made here, not in `before`: an `after` registered inside a hook runs when that hook ends.
const work = await tempDir({ after }, 'berth-push-output-');
let server: RunningServer;
let env: BerthEnv;
let small: Awaited<ReturnType<typeof bigLayout>>;

async function tagsOf(repo: string): Promise<string[]> {
  const res = await fetch(new URL(`/v2/${repo}/tags/list`, server.url), {
    headers: { authorization: basic(ADMIN) },
  });
  assert.equal(res.status, 200, `tags of ${repo}`);
  return ((await res.json()) as { tags: string[] }).tags.sort();
}

before(async () => {
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN.password,
  });
  env = await berthEnv(join(work, 'env'), { PATH: join(work, 'no-helpers') });
  small = await bigLayout(join(work, 'small-layout'), 4096);
});
after(() => server.close());

describe('a refused push', () => {
  // Was: `berth push --creds 'robot$ci:…' oci:L:v1 127.0.0.1:P/other/app:v1` → "checking blob sha256:… failed: 403".
  test('says which permission is missing on which repository for whom', async () => {
    const robot = await addRobot(server, 'robot$ci', [{ repo: 'mine/*', actions: ['pull', 'push'] }]);
    const r = await berth(env, [
      'push',
      '--creds',
      `${robot.name}:${robot.password}`,
      small.location,
      `${server.hostPort}/other/app:v1`,
    ]);
    assertOneLineFailure(r, /push to other\/app is not allowed for robot\$ci/);
    assert.doesNotMatch(r.stderr, /checking blob/, describeRun(r));
    // The same robot pushes where its permission reaches.
    assertOk(
      await berth(env, [
        'push',
        '--creds',
        `${robot.name}:${robot.password}`,
        small.location,
        `${server.hostPort}/mine/app:v1`,
      ]),
    );
  });

  test('a wrong password is still a login failure, not a missing permission', async () => {
    const r = await berth(env, [
      'push',
      '--creds',
      'admin:wrong-password',
      small.location,
      `${server.hostPort}/other/app:v1`,
    ]);
    const line = assertOneLineFailure(r);
    assert.doesNotMatch(line, /not allowed/, describeRun(r));
  });
});

describe('berth import', () => {
  // Was: `tags: [v1, v2]` with `destination: HOST/batch/app` also pushed `latest`.
  test('tags: [v1, v2] with a destination without a tag pushes v1 and v2 only', async () => {
    const file = join(work, 'images.yaml');
    await writeFile(
      file,
      YAML.stringify({
        images: [
          { source: small.location, destination: `${server.hostPort}/batch/app`, tags: ['v1', 'v2'] },
          { source: small.location, destination: `${server.hostPort}/batch/web:1.0`, tags: ['stable'] },
        ],
      }),
    );
    assertOk(await berth(env, ['import', '--file', file, '--creds', `admin:${ADMIN.password}`]));
    assert.deepEqual(await tagsOf('batch/app'), ['v1', 'v2']);
    assert.deepEqual(await tagsOf('batch/web'), ['1.0', 'stable']);
  });
});

/** Resolves once `check` is true of the child's stderr (polled as output arrives), or when the child ends. */
async function stderrShows(run: ReturnType<typeof spawnBerth>, check: (stderr: string) => boolean) {
  const stream = run.child.stderr;
  assert.ok(stream);
  if (check(run.stderr())) return;
  await new Promise<void>((resolve) => {
    const look = (): void => {
      // The child's own listener appends first: it was attached when the child was spawned.
      if (!check(run.stderr())) return;
      stream.off('data', look);
      resolve();
    };
    stream.on('data', look);
    run.child.once('close', () => resolve());
  });
}

describe('Ctrl-C', () => {
  const creds = `admin:${ADMIN.password}`;

  // Was: SIGINT while `berth push --compression gzip` compressed a layer printed "berth: The operation was aborted".
  test('while compressing: the resume hint and exit 130', async () => {
    const image = await bigLayout(join(work, 'compress-layout'), 96 * MiB);
    const run = spawnBerth(env, [
      'push',
      '--compression',
      'gzip',
      '--creds',
      creds,
      image.location,
      `${server.hostPort}/sigint/compress:v1`,
    ]);
    await stderrShows(run, (text) => /compressing/.test(text));
    assert.equal(run.child.exitCode, null, `the push ended before it was interrupted: ${run.stderr()}`);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, describeRun(r));
    const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
    assert.match(last, /^berth: .*interrupted: .*run the same command again to resume$/, describeRun(r));
    assert.doesNotMatch(r.stderr, /operation was aborted/i, describeRun(r));
  });

  // Was: after an interrupted push, the next run's summary counted the resumed layer whole, as if sent again.
  test('while uploading: exit 130; the next run resumes and its summary counts only what it sent', async () => {
    const image = await bigLayout(join(work, 'upload-layout'), 16 * MiB);
    const proxy = await countingProxy(
      { host: '127.0.0.1', port: Number(server.hostPort.split(':')[1]) },
      { bytesPerSecond: 4 * MiB },
    );
    try {
      const args = [
        'push',
        '--chunk-size',
        '1MiB',
        '--creds',
        creds,
        image.location,
        `${proxy.hostPort}/sigint/upload:v1`,
      ];
      const run = spawnBerth(env, args);
      await stderrShows(run, (text) => /layer \S+ .* uploading/.test(text));
      // Wait for the sign that a part of the layer is at the registry (the proxy counts what went through).
      let through = proxy.take();
      while (through < 4 * MiB && run.child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        through += proxy.take();
      }
      run.child.kill('SIGINT');
      const first = await run.done;
      assert.equal(first.code, 130, describeRun(first));
      assert.match(first.stderr, /interrupted: .*run the same command again to resume/, describeRun(first));
      const again = assertOk(await berth(env, args));
      assert.match(
        again.stdout,
        /1 uploaded \([\d.]+ \S+ sent, [\d.]+ \S+ of it sent before\)/,
        describeRun(again),
      );
    } finally {
      await proxy.close();
    }
  });
});

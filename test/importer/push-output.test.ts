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
  describeRun,
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

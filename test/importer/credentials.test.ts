// Credentials end to end, against CNCF Distribution with htpasswd (Basic) auth: anonymous pushes refused,
// `berth login` / `logout`, `--creds`, a credential helper of the tests' own (credHelpers), the real
// docker-credential-pass (credsStore), and an auth.json that skopeo reads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type ClientEnv, makeClientEnv, runRaw, skopeo } from '../support/containers.js';
import {
  basicAuth,
  installTestHelper,
  type PassStore,
  readJson,
  setupPassStore,
  writeJson,
} from '../support/credential-fixtures.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  assertNotTagged,
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  describeRun,
  getManifest,
  pushJson,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const execFileAsync = promisify(execFile);
const gate = await requireDistribution('skopeo', 'umoci', 'pass', 'gpg', 'gpgconf', 'docker-credential-pass');

const USER = 'alice';
const PASSWORD = 'correct horse battery staple';

interface DockerConfig {
  auths?: Record<string, { auth?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

describe('credentials against Distribution with htpasswd', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let distribution: Distribution | undefined;
  let registry: TestRegistry;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let pass: PassStore | undefined;
  /** A PATH holding no credential helper and no `pass`: Berth, like Docker, would otherwise pick pass as the default store. */
  let barePath: string;
  let counter = 0;

  const host = (): string => registry.hostPort;
  const dest = (repo: string): string => `docker://${registry.hostPort}/${repo}:v1`;
  const freshEnv = async (extra: NodeJS.ProcessEnv = {}): Promise<BerthEnv> =>
    berthEnv(join(work, 'berth', `env-${++counter}`), { PATH: barePath, ...extra });
  const configOf = async (be: BerthEnv): Promise<DockerConfig> =>
    readJson<DockerConfig>(join(be.dockerConfig, 'config.json')).catch(() => ({}));
  const expected = () => ({ configDigest: v1.config.digest, diffIds: v1.diffIds, manifestDigest: v1.digest });
  const login = (be: BerthEnv, password: string, args: string[] = []) =>
    berth(be, ['login', host(), '-u', USER, '--password-stdin', ...args], { input: `${password}\n` });
  /** A push with stored credentials, checked with skopeo. */
  const pushWorks = async (be: BerthEnv, repo: string): Promise<void> => {
    const report = await pushJson(be, `oci:${layout}:v1`, dest(repo));
    assert.equal(report.digest, v1.digest);
    await verifyWithSkopeo(client, registry, `${repo}:v1`, report, expected(), work);
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-creds-');
    distribution = await startDistribution({
      dir: join(work, 'distribution'),
      htpasswd: { username: USER, password: PASSWORD },
    });
    registry = {
      name: 'distribution',
      hostPort: distribution.hostPort,
      url: distribution.url,
      credentials: { username: USER, password: PASSWORD },
    };
    barePath = join(work, 'empty-bin');
    await mkdir(barePath, { recursive: true });
    client = await makeClientEnv(join(work, 'clients'), distribution.hostPort);
    ({ layout, v1 } = await buildTestLayout(client, join(work, 'umoci')));
  });

  after(async () => {
    await pass?.close();
    await distribution?.stop();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('push without credentials: one line naming the image and saying authentication is required; nothing tagged', async () => {
    const r = await berth(await freshEnv(), ['push', `oci:${layout}:v1`, dest('creds/anonymous')]);
    assertOneLineFailure(r, /creds\/anonymous/, /authentication (is )?required/i);
    await assertNotTagged(registry, 'creds/anonymous', 'v1');
  });

  test('push with wrong --creds: one line saying the credentials were refused; nothing tagged', async () => {
    const r = await berth(await freshEnv(), [
      'push',
      '--creds',
      `${USER}:Tr0ub4dor&3`,
      `oci:${layout}:v1`,
      dest('creds/badpass'),
    ]);
    // Not "run berth login": credentials were given, and they were wrong.
    assertOneLineFailure(r, /creds\/badpass/, /refused|authentication failed|invalid credentials|incorrect/i);
    assert.ok(!r.stderr.includes('Tr0ub4dor&3'), 'no secret in errors');
    await assertNotTagged(registry, 'creds/badpass', 'v1');
  });

  test('--creds user:password works without a login', async () => {
    const be = await freshEnv();
    const report = await pushJson(be, `oci:${layout}:v1`, dest('creds/flag'), [
      '--creds',
      `${USER}:${PASSWORD}`,
    ]);
    await verifyWithSkopeo(client, registry, 'creds/flag:v1', report, expected(), work);
    assert.deepEqual(await configOf(be), {}, '--creds stores nothing');
  });

  test('login --password-stdin stores credentials in config.json, push works, logout removes them', async () => {
    const be = await freshEnv();
    const r = assertOk(await login(be, PASSWORD));
    assert.match(r.stdout, /Login Succeeded/);
    const config = await configOf(be);
    assert.equal(config.auths?.[host()]?.auth, basicAuth(USER, PASSWORD), JSON.stringify(config));
    await pushWorks(be, 'creds/login');

    const out = assertOk(await berth(be, ['logout', host()]));
    assert.match(out.stdout, new RegExp(`Removed login credentials for ${host()}`));
    assert.equal((await configOf(be)).auths?.[host()], undefined);
    // Refused again (the exact error line is the anonymous-push test's business).
    const after = await berth(be, ['push', `oci:${layout}:v1`, dest('creds/after-logout')]);
    assert.ok(after.code !== 0, describeRun(after));
    await assertNotTagged(registry, 'creds/after-logout', 'v1');
  });

  test('login with a wrong password fails clearly and stores nothing', async () => {
    const be = await freshEnv();
    const r = await login(be, 'not the password');
    assertOneLineFailure(r, new RegExp(host().replaceAll('.', '\\.')), /login failed|refused/i);
    assert.ok(!r.stderr.includes('not the password'), 'the password must not be echoed');
    assert.deepEqual(await configOf(be), {});
  });

  test('a credential helper of our own named in credHelpers: push reads it, login stores into it, logout erases', async () => {
    const helperDir = join(work, 'helper');
    const helper = await installTestHelper(helperDir);
    const be = await freshEnv({ PATH: helper.binDir });
    await writeJson(join(be.dockerConfig, 'config.json'), { credHelpers: { [host()]: helper.name } });
    await helper.seed({ [host()]: { Username: USER, Secret: PASSWORD } });
    await pushWorks(be, 'creds/helper');
    assert.ok(
      (await helper.calls()).some((c) => c.action === 'get' && c.serverUrl === host()),
      JSON.stringify(await helper.calls()),
    );

    // login goes to the helper, not into config.json.
    await helper.seed({});
    const r = assertOk(await login(be, PASSWORD));
    assert.doesNotMatch(r.stderr, /unencrypted/);
    assert.deepEqual(await helper.entries(), { [host()]: { Username: USER, Secret: PASSWORD } });
    const text = await readFile(join(be.dockerConfig, 'config.json'), 'utf8');
    assert.ok(!text.includes(basicAuth(USER, PASSWORD)) && !text.includes(PASSWORD), text);

    assertOk(await berth(be, ['logout', host()]));
    assert.deepEqual(await helper.entries(), {});
  });

  test('the real docker-credential-pass as credsStore: login stores in pass, push works, logout erases', async () => {
    pass = await setupPassStore(join(work, 'pass'));
    const be = await freshEnv({ PATH: process.env.PATH, ...pass.env });
    await writeJson(join(be.dockerConfig, 'config.json'), { credsStore: 'pass' });
    const list = async (): Promise<Record<string, string>> => {
      const { stdout } = await execFileAsync('docker-credential-pass', ['list'], {
        env: { ...be.env, ...pass?.env },
      });
      return JSON.parse(stdout) as Record<string, string>;
    };
    const r = assertOk(await login(be, PASSWORD));
    assert.match(r.stdout, /docker-credential-pass/, describeRun(r));
    assert.deepEqual(await list(), { [host()]: USER });
    const text = await readFile(join(be.dockerConfig, 'config.json'), 'utf8');
    assert.ok(!text.includes(basicAuth(USER, PASSWORD)), text);
    await pushWorks(be, 'creds/pass');
    assertOk(await berth(be, ['logout', host()]));
    assert.deepEqual(await list(), {});
  });

  test('login --authfile writes an auth.json that skopeo reads', async () => {
    const be = await freshEnv();
    const authFile = join(work, 'skopeo-auth.json');
    assertOk(await login(be, PASSWORD, ['--authfile', authFile]));
    const { stdout } = await skopeo(client, ['login', '--get-login', '--authfile', authFile, host()]);
    assert.equal(stdout.trim(), USER);
    // skopeo logs in with it: an authenticated pull of the image an earlier test pushed.
    await runRaw(client, 'skopeo', [
      '--policy',
      client.policy,
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--authfile',
      authFile,
      dest('creds/flag'),
    ]);
    // And berth pushes with it.
    const report = await pushJson(be, `oci:${layout}:v1`, dest('creds/authfile'), ['--authfile', authFile]);
    assert.equal(report.digest, v1.digest);
    assert.equal((await getManifest(registry, 'creds/authfile', 'v1')).digest, v1.digest);
    assert.deepEqual(await configOf(be), {}, '--authfile leaves config.json alone');
  });
});

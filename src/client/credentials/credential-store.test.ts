// The credential store end to end: real files, the tests' own helper programs on PATH, and skopeo reading
// what Berth writes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { requireTools } from '../../../test/support/containers.js';
import {
  basicAuth,
  installTestHelper,
  readJson,
  type TestHelper,
  writeJson,
} from '../../../test/support/credential-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { BerthError } from '../../oci/errors.js';
import {
  type CredentialStore,
  type CredentialStoreOptions,
  openCredentialStore,
} from './credential-store.js';

const execFileAsync = promisify(execFile);

interface Setup {
  dir: string;
  home: string;
  /** ~/.docker/config.json */
  config: string;
  /** $XDG_RUNTIME_DIR/containers/auth.json */
  runtimeAuth: string;
  /** ~/.config/containers/auth.json */
  configHomeAuth: string;
  helper: TestHelper;
  env: NodeJS.ProcessEnv;
  open(options?: CredentialStoreOptions): CredentialStore;
}

/** A home of the test's own; PATH holds only the test helper, so no helper of this machine is ever used. */
async function setup(t: TestContext, extraEnv: NodeJS.ProcessEnv = {}): Promise<Setup> {
  const dir = await tempDir(t);
  const home = join(dir, 'home');
  const helper = await installTestHelper(dir);
  const env: NodeJS.ProcessEnv = {
    PATH: helper.binDir,
    HOME: home,
    XDG_RUNTIME_DIR: join(dir, 'run'),
    ...extraEnv,
  };
  return {
    dir,
    home,
    config: join(home, '.docker', 'config.json'),
    runtimeAuth: join(dir, 'run', 'containers', 'auth.json'),
    configHomeAuth: join(home, '.config', 'containers', 'auth.json'),
    helper,
    env,
    open: (options = {}) => openCredentialStore({ env, uid: 4242, platform: 'linux', ...options }),
  };
}

const isCode =
  (code: string, ...parts: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.code, code, e.message);
    for (const part of parts) assert.ok(e.message.includes(part), `"${part}" missing from: ${e.message}`);
    return true;
  };

describe('credential store: plain auths in config.json', () => {
  test('store, get and erase base64 credentials where Docker keeps them', async (t) => {
    const s = await setup(t);
    const store = s.open();
    assert.equal(await store.get('registry.example.com:5000'), undefined);
    assert.deepEqual(
      await store.store('registry.example.com:5000', { username: 'alice', password: 'pa:ss' }),
      {
        location: s.config,
        plaintext: true,
      },
    );
    assert.deepEqual(await readJson(s.config), {
      auths: { 'registry.example.com:5000': { auth: basicAuth('alice', 'pa:ss') } },
    });
    assert.equal((await stat(s.config)).mode & 0o777, 0o600);
    assert.equal((await stat(join(s.home, '.docker'))).mode & 0o777, 0o700);
    assert.deepEqual(await store.get('registry.example.com:5000'), {
      username: 'alice',
      password: 'pa:ss',
      source: s.config,
    });
    assert.deepEqual(await store.get('http://registry.example.com:5000/v2/'), {
      username: 'alice',
      password: 'pa:ss',
      source: s.config,
    });
    assert.equal(await store.erase('registry.example.com:5000'), true);
    assert.equal(await store.get('registry.example.com:5000'), undefined);
    assert.equal(await store.erase('registry.example.com:5000'), false);
    assert.deepEqual(await readJson(s.config), { auths: {} });
  });

  test('every other key in the file survives a store and an erase', async (t) => {
    const s = await setup(t);
    const original = {
      auths: {
        'keep.example.com': { auth: basicAuth('k', 'v'), email: 'k@example.com' },
        'https://registry.example.com/v1/': { auth: basicAuth('legacy', 'old') },
      },
      HttpHeaders: { 'User-Agent': 'Docker-Client/24' },
      detachKeys: 'ctrl-e,e',
      experimental: 'enabled',
      currentContext: 'remote',
      'x-unknown-future-key': { nested: [1, { deep: true }] },
    };
    await writeJson(s.config, original);
    const store = s.open();
    await store.store('registry.example.com', { username: 'alice', password: 'new' });
    assert.deepEqual(await readJson(s.config), {
      ...original,
      auths: { ...original.auths, 'registry.example.com': { auth: basicAuth('alice', 'new') } },
    });
    assert.deepEqual(await store.get('registry.example.com'), {
      username: 'alice',
      password: 'new',
      source: s.config,
    });
    assert.equal(await store.erase('registry.example.com'), true);
    assert.deepEqual(await readJson(s.config), {
      ...original,
      auths: { 'keep.example.com': original.auths['keep.example.com'] },
    });
  });

  test('$DOCKER_CONFIG names the folder', async (t) => {
    const s = await setup(t);
    const folder = join(s.dir, 'ci-docker');
    const store = openCredentialStore({ env: { ...s.env, DOCKER_CONFIG: folder }, platform: 'linux' });
    assert.equal(
      (await store.store('r.example.com', { username: 'u', password: 'p' })).location,
      join(folder, 'config.json'),
    );
    assert.ok(await readJson(join(folder, 'config.json')));
  });

  test('Docker Hub under https://index.docker.io/v1/ whatever alias is given', async (t) => {
    const s = await setup(t);
    const store = s.open();
    await store.store('docker.io', { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(Object.keys((await readJson<{ auths: object }>(s.config)).auths), [
      'https://index.docker.io/v1/',
    ]);
    for (const alias of [
      'docker.io',
      'index.docker.io',
      'registry-1.docker.io',
      'https://index.docker.io/v1/',
    ]) {
      assert.deepEqual(
        await store.get(alias),
        { username: 'hubuser', password: 'hubpass', source: s.config },
        alias,
      );
    }
    assert.equal(await store.erase('registry-1.docker.io'), true);
    assert.equal(await store.get('docker.io'), undefined);
  });

  test('identity tokens are read from auths and written as Docker writes them', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, {
      auths: { 'token.example.com': { auth: basicAuth('ida', ''), identitytoken: 'refresh-1' } },
    });
    const store = s.open();
    assert.deepEqual(await store.get('token.example.com'), {
      identityToken: 'refresh-1',
      username: 'ida',
      source: s.config,
    });
    await store.store('other.example.com', { identityToken: 'refresh-2' });
    assert.deepEqual((await readJson<{ auths: object }>(s.config)).auths, {
      'token.example.com': { auth: basicAuth('ida', ''), identitytoken: 'refresh-1' },
      'other.example.com': { identitytoken: 'refresh-2' },
    });
    assert.deepEqual(await store.get('other.example.com'), { identityToken: 'refresh-2', source: s.config });
  });

  test('credentials no registry could use are refused before anything is written', async (t) => {
    const s = await setup(t);
    const store = s.open();
    for (const bad of [
      { username: 'a:b', password: 'p' },
      { username: '', password: 'p' },
      { username: 'u', password: '' },
      { identityToken: '' },
    ]) {
      await assert.rejects(store.store('r.example.com', bad), isCode('CREDENTIALS_INVALID'));
    }
    await assert.rejects(
      store.store('https://', { username: 'u', password: 'p' }),
      isCode('REGISTRY_HOST_INVALID'),
    );
    await assert.rejects(stat(s.config), { code: 'ENOENT' });
  });
});

describe('credential store: helpers', () => {
  test('credHelpers[host]: stored in the helper, with the secret-less marker Docker writes', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, {
      auths: { 'registry.example.com': { auth: basicAuth('old', 'plaintext-old'), email: 'e@example.com' } },
      credHelpers: { 'registry.example.com': 'berthtest' },
      psFormat: 'x',
    });
    const store = s.open();
    assert.deepEqual(await store.store('registry.example.com', { username: 'alice', password: 'n3w' }), {
      location: 'docker-credential-berthtest',
      plaintext: false,
    });
    assert.deepEqual(await s.helper.entries(), {
      'registry.example.com': { Username: 'alice', Secret: 'n3w' },
    });
    const written = await readFile(s.config, 'utf8');
    assert.ok(!written.includes(basicAuth('old', 'plaintext-old')), 'the old plaintext secret is gone');
    assert.deepEqual(JSON.parse(written), {
      auths: { 'registry.example.com': { email: 'e@example.com' } },
      credHelpers: { 'registry.example.com': 'berthtest' },
      psFormat: 'x',
    });
    const found = await store.get('registry.example.com');
    assert.deepEqual(found, {
      username: 'alice',
      password: 'n3w',
      source: `docker-credential-berthtest (credHelpers in ${s.config})`,
    });
    assert.equal(await store.erase('registry.example.com'), true);
    assert.deepEqual(await s.helper.entries(), {});
    assert.deepEqual((await readJson(s.config)).auths, {});
    assert.equal(await store.erase('registry.example.com'), false);
  });

  test('credsStore: every host, Docker Hub under its v1 URL, identity tokens as <token>', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, { credsStore: 'berthtest' });
    const store = s.open();
    await store.store('index.docker.io', { username: 'hubuser', password: 'hubpass' });
    await store.store('token.example.com', { identityToken: 'refresh-xyz', username: 'ida' });
    assert.deepEqual(await s.helper.entries(), {
      'https://index.docker.io/v1/': { Username: 'hubuser', Secret: 'hubpass' },
      'token.example.com': { Username: '<token>', Secret: 'refresh-xyz' },
    });
    assert.deepEqual(await readJson(s.config), {
      credsStore: 'berthtest',
      auths: { 'https://index.docker.io/v1/': {}, 'token.example.com': {} },
    });
    const source = `docker-credential-berthtest (credsStore in ${s.config})`;
    assert.deepEqual(await store.get('docker.io'), { username: 'hubuser', password: 'hubpass', source });
    assert.deepEqual(await store.get('token.example.com'), { identityToken: 'refresh-xyz', source });
  });

  test('an entry another tool filed under another spelling is found through list, and erased', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, { credsStore: 'berthtest' });
    await s.helper.seed({
      'https://legacy.example.com': { Username: 'legacy', Secret: 'x' },
      'docker.io': { Username: 'podman-hub', Secret: 'y' },
    });
    const store = s.open();
    assert.equal(((await store.get('legacy.example.com')) as { username: string }).username, 'legacy');
    assert.equal(((await store.get('docker.io')) as { username: string }).username, 'podman-hub');
    assert.equal(await store.erase('legacy.example.com'), true);
    assert.equal(await store.erase('docker.io'), true);
    assert.deepEqual(await s.helper.entries(), {});
  });

  test('a helper without list: erase tries the spellings docker logout tries', async (t) => {
    const s = await setup(t, { BERTHTEST_NO_LIST: '1' });
    await writeJson(s.config, { credsStore: 'berthtest' });
    await s.helper.seed({
      'registry.example.com': { Username: 'a', Secret: 'x' },
      'https://registry.example.com': { Username: 'b', Secret: 'y' },
      'other.example.com': { Username: 'c', Secret: 'z' },
    });
    assert.equal(await s.open().erase('registry.example.com'), true);
    assert.deepEqual(Object.keys(await s.helper.entries()), ['other.example.com']);
  });

  test("Docker's default store: with pass and its helper installed, login goes there and credsStore is saved", async (t) => {
    const s = await setup(t);
    // A stand-in for docker-credential-pass: the tests' helper under that name, next to a dummy `pass`.
    const pass = await installTestHelper(join(s.dir, 'fake-pass'), 'pass');
    await writeFile(join(pass.binDir, 'pass'), '#!/bin/sh\nexit 1\n');
    await chmod(join(pass.binDir, 'pass'), 0o755);
    // A password store that `pass init` set up.
    const passwordStore = join(s.dir, 'password-store');
    await mkdir(passwordStore, { recursive: true });
    await writeFile(join(passwordStore, '.gpg-id'), 'test@example.invalid\n');
    await writeJson(s.config, { auths: {}, psFormat: 'x' });
    const store = s.open({ env: { ...s.env, PATH: pass.binDir, PASSWORD_STORE_DIR: passwordStore } });
    assert.deepEqual(await store.store('registry.example.com', { username: 'alice', password: 'p' }), {
      location: 'docker-credential-pass',
      plaintext: false,
    });
    assert.deepEqual(await readJson(s.config), {
      auths: { 'registry.example.com': {} },
      psFormat: 'x',
      credsStore: 'pass',
    });
    assert.deepEqual(await pass.entries(), { 'registry.example.com': { Username: 'alice', Secret: 'p' } });
  });

  test('a configured helper that is not installed is CREDENTIAL_HELPER_NOT_FOUND naming it and the setting', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, { credsStore: 'desktop' });
    const store = s.open();
    await assert.rejects(
      store.get('registry.example.com'),
      isCode(
        'CREDENTIAL_HELPER_NOT_FOUND',
        'docker-credential-desktop',
        `credsStore in ${s.config}`,
        'registry.example.com',
      ),
    );
    await assert.rejects(
      store.store('registry.example.com', { username: 'u', password: 'secret-value' }),
      (e: unknown) =>
        isCode('CREDENTIAL_HELPER_NOT_FOUND')(e) && !(e as Error).message.includes('secret-value'),
    );
  });

  test('a failing helper fails the lookup; its error never holds the secret', async (t) => {
    const s = await setup(t, { BERTHTEST_FAIL: 'store is locked', BERTHTEST_ECHO: '1' });
    await writeJson(s.config, { credsStore: 'berthtest' });
    const store = s.open();
    await assert.rejects(
      store.store('registry.example.com', { username: 'alice', password: 'very-secret-pw' }),
      (e: unknown) =>
        isCode(
          'CREDENTIAL_HELPER_FAILED',
          'docker-credential-berthtest',
          'registry.example.com',
          'store is locked',
        )(e) && !(e as Error).message.includes('very-secret-pw'),
    );
    await assert.rejects(store.get('registry.example.com'), isCode('CREDENTIAL_HELPER_FAILED'));
  });
});

describe('credential store: lookup order', () => {
  test('credHelpers → credsStore → auths in config.json, then the runtime auth.json, then the config-home one', async (t) => {
    const s = await setup(t);
    const second = await installTestHelper(join(s.dir, 'second'), 'second');
    const env = { ...s.env, PATH: [s.helper.binDir, second.binDir].join(delimiter) };
    const entry = (username: string) => ({ auth: basicAuth(username, 'x') });
    await writeJson(s.config, {
      credHelpers: { 'a.example.com': 'berthtest' },
      credsStore: 'second',
      auths: { 'a.example.com': {}, 'b.example.com': entry('b-config'), 'c.example.com': entry('c-config') },
    });
    await s.helper.seed({ 'a.example.com': { Username: 'a-helper', Secret: 'x' } });
    await second.seed({ 'b.example.com': { Username: 'b-store', Secret: 'x' } });
    await writeJson(s.runtimeAuth, {
      auths: {
        'a.example.com': entry('a-runtime'),
        'c.example.com': entry('c-runtime'),
        'd.example.com': entry('d-runtime'),
      },
    });
    await writeJson(s.configHomeAuth, {
      auths: { 'd.example.com': entry('d-confighome'), 'e.example.com': entry('e-confighome') },
    });
    const store = s.open({ env });
    const who = async (host: string) => {
      const found = await store.get(host);
      return found && 'username' in found ? [found.username, found.source] : undefined;
    };
    assert.deepEqual(await who('a.example.com'), [
      'a-helper',
      `docker-credential-berthtest (credHelpers in ${s.config})`,
    ]);
    assert.deepEqual(await who('b.example.com'), [
      'b-store',
      `docker-credential-second (credsStore in ${s.config})`,
    ]);
    assert.deepEqual(await who('c.example.com'), ['c-config', s.config]);
    assert.deepEqual(await who('d.example.com'), ['d-runtime', s.runtimeAuth]);
    assert.deepEqual(await who('e.example.com'), ['e-confighome', s.configHomeAuth]);
    assert.equal(await who('f.example.com'), undefined);
  });

  test('REGISTRY_AUTH_FILE stands in for the runtime auth.json; credHelpers there are honoured', async (t) => {
    const s = await setup(t);
    const ciAuth = join(s.dir, 'ci', 'auth.json');
    await writeJson(ciAuth, {
      auths: { 'quay.io/team': { auth: basicAuth('team-robot', 'x') } },
      credHelpers: { 'helped.example.com': 'berthtest' },
    });
    await writeJson(s.runtimeAuth, { auths: { 'quay.io': { auth: basicAuth('ignored', 'x') } } });
    await s.helper.seed({ 'helped.example.com': { Username: 'via-helper', Secret: 'x' } });
    const store = s.open({ env: { ...s.env, REGISTRY_AUTH_FILE: ciAuth } });
    assert.deepEqual(await store.get('quay.io', { repository: 'team/app' }), {
      username: 'team-robot',
      password: 'x',
      source: ciAuth,
    });
    assert.equal(await store.get('quay.io'), undefined, 'the runtime file is not read');
    assert.deepEqual(await store.get('helped.example.com'), {
      username: 'via-helper',
      password: 'x',
      source: `docker-credential-berthtest (credHelpers in ${ciAuth})`,
    });
  });

  test('without XDG_RUNTIME_DIR, /run/containers/<uid>/auth.json is the runtime file', async (t) => {
    const s = await setup(t);
    const env = { ...s.env };
    delete env.XDG_RUNTIME_DIR;
    // The uid is one no real user has, so the path is absent on this machine and lookups fall through.
    const store = openCredentialStore({ env, uid: 2_000_000_001, platform: 'linux' });
    await writeJson(s.configHomeAuth, { auths: { 'r.example.com': { auth: basicAuth('home', 'x') } } });
    assert.equal(((await store.get('r.example.com')) as { username: string }).username, 'home');
  });

  test('a broken auth.json is not read while config.json answers, and is reported when it must be', async (t) => {
    const s = await setup(t);
    await writeJson(s.config, { auths: { 'r.example.com': { auth: basicAuth('u', 'p') } } });
    await mkdir(join(s.runtimeAuth, '..'), { recursive: true });
    await writeFile(s.runtimeAuth, '{"auths": {');
    const store = s.open();
    assert.ok(await store.get('r.example.com'));
    await assert.rejects(store.get('other.example.com'), isCode('CREDENTIALS_CONFIG_INVALID', s.runtimeAuth));
  });

  test('a malformed config.json fails get, store and erase with the file named, and is left as it was', async (t) => {
    const s = await setup(t);
    await mkdir(join(s.config, '..'), { recursive: true });
    const broken = '{"auths": {"r.example.com": {"auth": "dTpw"}}, oops}';
    await writeFile(s.config, broken);
    const store = s.open();
    await assert.rejects(store.get('r.example.com'), isCode('CREDENTIALS_CONFIG_INVALID', s.config));
    await assert.rejects(
      store.store('r.example.com', { username: 'u', password: 'p' }),
      isCode('CREDENTIALS_CONFIG_INVALID', s.config),
    );
    await assert.rejects(store.erase('r.example.com'), isCode('CREDENTIALS_CONFIG_INVALID', s.config));
    assert.equal(await readFile(s.config, 'utf8'), broken);
  });
});

describe('credential store: --authfile', () => {
  test('the auth file is the only one read and written, in podman’s spelling', async (t) => {
    const s = await setup(t);
    const configBefore = JSON.stringify({
      auths: { 'r.example.com': { auth: basicAuth('docker-user', 'x') } },
      credsStore: 'berthtest',
    });
    await mkdir(join(s.config, '..'), { recursive: true });
    await writeFile(s.config, configBefore);
    await writeJson(s.runtimeAuth, { auths: { 'r.example.com': { auth: basicAuth('runtime-user', 'x') } } });
    const authFile = join(s.dir, 'given', 'auth.json');
    const store = s.open({ authFile });
    assert.equal(await store.get('r.example.com'), undefined);
    assert.deepEqual(await store.store('r.example.com', { username: 'alice', password: 'p' }), {
      location: authFile,
      plaintext: true,
    });
    await store.store('registry-1.docker.io', { username: 'hubuser', password: 'h' });
    assert.deepEqual(await readJson(authFile), {
      auths: {
        'r.example.com': { auth: basicAuth('alice', 'p') },
        'docker.io': { auth: basicAuth('hubuser', 'h') },
      },
    });
    assert.equal((await stat(authFile)).mode & 0o777, 0o600);
    assert.deepEqual(await store.get('r.example.com'), {
      username: 'alice',
      password: 'p',
      source: authFile,
    });
    assert.equal(await store.erase('r.example.com'), true);
    assert.equal(await store.get('r.example.com'), undefined);
    assert.equal(await readFile(s.config, 'utf8'), configBefore, 'config.json untouched');
    assert.deepEqual(await s.helper.calls(), [], 'the credsStore of config.json was never asked');
  });
});

const skopeoGate = await requireTools('skopeo');

describe('skopeo reads what Berth writes', { skip: skopeoGate.skip }, () => {
  const skopeo = async (env: NodeJS.ProcessEnv, args: string[]) => {
    const { stdout } = await execFileAsync('skopeo', args, { env, timeout: 60_000 });
    return stdout.trim();
  };
  const clientEnv = (s: Setup): NodeJS.ProcessEnv => ({
    PATH: [s.helper.binDir, process.env.PATH].join(delimiter),
    HOME: s.home,
    XDG_RUNTIME_DIR: join(s.dir, 'run'),
  });

  test('auth.json written with --authfile: skopeo login --get-login finds the user, skopeo logout removes it', async (t) => {
    skopeoGate.assertAvailable();
    const s = await setup(t);
    const authFile = join(s.dir, 'auth.json');
    const store = s.open({ authFile });
    await store.store('registry.example.com:5000', { username: 'alice', password: 'p' });
    await store.store('docker.io', { username: 'hubuser', password: 'h' });
    const env = clientEnv(s);
    assert.equal(
      await skopeo(env, ['login', '--get-login', '--authfile', authFile, 'registry.example.com:5000']),
      'alice',
    );
    assert.equal(await skopeo(env, ['login', '--get-login', '--authfile', authFile, 'docker.io']), 'hubuser');
    await skopeo(env, ['logout', '--authfile', authFile, 'registry.example.com:5000']);
    assert.equal(await store.get('registry.example.com:5000'), undefined);
    assert.ok(await store.get('docker.io'));
  });

  test('config.json written by login: skopeo falls back to it and finds the user', async (t) => {
    skopeoGate.assertAvailable();
    const s = await setup(t);
    await s.open().store('registry.example.com:5000', { username: 'alice', password: 'p' });
    await s.open().store('docker.io', { username: 'hubuser', password: 'h' });
    const env = clientEnv(s);
    await mkdir(env.XDG_RUNTIME_DIR as string, { recursive: true });
    assert.equal(await skopeo(env, ['login', '--get-login', 'registry.example.com:5000']), 'alice');
    assert.equal(await skopeo(env, ['login', '--get-login', 'docker.io']), 'hubuser');
  });

  test('credHelpers in an auth file: Berth stores through the helper, skopeo reads through it', async (t) => {
    skopeoGate.assertAvailable();
    const s = await setup(t);
    const authFile = join(s.dir, 'auth.json');
    await writeJson(authFile, {
      auths: {},
      credHelpers: { 'registry.example.com': 'berthtest', 'docker.io': 'berthtest' },
    });
    const store = s.open({ authFile });
    assert.equal(
      (await store.store('registry.example.com', { username: 'alice', password: 'p' })).location,
      'docker-credential-berthtest',
    );
    await store.store('docker.io', { username: 'hubuser', password: 'h' });
    // skopeo files Docker Hub in helpers as docker.io, not Docker's v1 URL; Berth does the same for auth.json.
    assert.deepEqual(Object.keys(await s.helper.entries()), ['registry.example.com', 'docker.io']);
    const env = clientEnv(s);
    assert.equal(
      await skopeo(env, ['login', '--get-login', '--authfile', authFile, 'registry.example.com']),
      'alice',
    );
    assert.equal(await skopeo(env, ['login', '--get-login', '--authfile', authFile, 'docker.io']), 'hubuser');
    assert.deepEqual(await readJson(authFile), {
      auths: {},
      credHelpers: { 'registry.example.com': 'berthtest', 'docker.io': 'berthtest' },
    });
  });
});

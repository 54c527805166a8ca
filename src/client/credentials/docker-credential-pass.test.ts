// The real docker-credential-pass (Debian golang-docker-credential-helpers) over a throwaway GnuPG key and
// password store. Mandatory with BERTH_TEST_INTEROP=1; skipped with a reason otherwise.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { requireTools } from '../../../test/support/containers.js';
import {
  type PassStore,
  readJson,
  setupPassStore,
  writeJson,
} from '../../../test/support/credential-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { type CredentialStore, openCredentialStore } from './credential-store.js';

const execFileAsync = promisify(execFile);
const gate = await requireTools('docker-credential-pass', 'pass', 'gpg', 'gpgconf');
const skopeoGate = await requireTools('skopeo');

describe('docker-credential-pass through the credential store', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let dir: string;
  let pass: PassStore;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    gate.assertAvailable();
    dir = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-pass-');
    pass = await setupPassStore(dir);
    // The machine's PATH: docker-credential-pass runs `pass`, which runs gpg.
    env = { PATH: process.env.PATH, HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run'), ...pass.env };
  });
  after(async () => {
    await pass?.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A store whose config.json lives in its own folder, with the given content. */
  const storeWith = async (
    name: string,
    config: object,
  ): Promise<{ store: CredentialStore; config: string }> => {
    const folder = join(dir, name);
    await writeJson(join(folder, 'config.json'), config);
    const store = openCredentialStore({ env: { ...env, DOCKER_CONFIG: folder }, platform: 'linux' });
    return { store, config: join(folder, 'config.json') };
  };

  /** The server URLs pass holds entries for (folder names are their base64). */
  const passEntries = async (): Promise<string[]> => {
    const names = await readdir(join(pass.storeDir, 'docker-credential-helpers')).catch(() => []);
    return names.map((n) => Buffer.from(n, 'base64').toString('utf8')).sort();
  };

  test('credsStore "pass": store, get, erase', async () => {
    const { store, config } = await storeWith('creds-store', { credsStore: 'pass', psFormat: 'x' });
    assert.deepEqual(
      await store.store('registry.example.com:5000', { username: 'alice', password: 'pa ss:wörd' }),
      {
        location: 'docker-credential-pass',
        plaintext: false,
      },
    );
    assert.deepEqual(await readJson(config), {
      credsStore: 'pass',
      psFormat: 'x',
      auths: { 'registry.example.com:5000': {} },
    });
    assert.deepEqual(await passEntries(), ['registry.example.com:5000']);
    assert.deepEqual(await store.get('registry.example.com:5000'), {
      username: 'alice',
      password: 'pa ss:wörd',
      source: `docker-credential-pass (credsStore in ${config})`,
    });
    // What pass holds is what `pass show` decrypts: the secret, encrypted to the throwaway key.
    const entry = `docker-credential-helpers/${Buffer.from('registry.example.com:5000').toString('base64')}/alice`;
    const { stdout } = await execFileAsync('pass', ['show', entry], { env });
    assert.equal(stdout.trim(), 'pa ss:wörd');

    assert.equal(await store.erase('registry.example.com:5000'), true);
    assert.equal(await store.get('registry.example.com:5000'), undefined);
    assert.deepEqual(await passEntries(), []);
    assert.deepEqual((await readJson(config)).auths, {});
    assert.equal(await store.erase('registry.example.com:5000'), false);
  });

  test('Docker Hub and identity tokens under Docker’s keys', async () => {
    const { store } = await storeWith('hub', { credsStore: 'pass' });
    await store.store('docker.io', { identityToken: 'refresh-token-value' });
    assert.deepEqual(await passEntries(), ['https://index.docker.io/v1/']);
    const found = await store.get('registry-1.docker.io');
    assert.deepEqual(found && { ...found, source: undefined }, {
      identityToken: 'refresh-token-value',
      source: undefined,
    });
    assert.equal(await store.erase('index.docker.io'), true);
    assert.deepEqual(await passEntries(), []);
  });

  test('a credHelpers entry for one host', async () => {
    const { store, config } = await storeWith('cred-helpers', {
      credHelpers: { 'secure.example.com': 'pass' },
      credsStore: '',
    });
    await store.store('secure.example.com', { username: 'sam', password: 'in-pass' });
    assert.deepEqual(await passEntries(), ['secure.example.com']);
    assert.deepEqual((await readJson(config)).auths, { 'secure.example.com': {} });
    assert.deepEqual(await store.get('secure.example.com'), {
      username: 'sam',
      password: 'in-pass',
      source: `docker-credential-pass (credHelpers in ${config})`,
    });
    assert.equal(await store.erase('secure.example.com'), true);
    assert.deepEqual(await passEntries(), []);
  });

  test("no credsStore but pass installed: Docker's default store is used and saved", async () => {
    const { store, config } = await storeWith('default-store', { auths: {} });
    assert.equal(
      (await store.store('default.example.com', { username: 'd', password: 'p' })).location,
      'docker-credential-pass',
    );
    assert.equal((await readJson(config)).credsStore, 'pass');
    assert.deepEqual(await passEntries(), ['default.example.com']);
    assert.equal(((await store.get('default.example.com')) as { password: string }).password, 'p');
    assert.equal(await store.erase('default.example.com'), true);
    assert.deepEqual(await passEntries(), []);
  });

  test('skopeo reads pass entries Berth stored through credHelpers of an auth file', {
    skip: skopeoGate.skip,
  }, async () => {
    skopeoGate.assertAvailable();
    const authFile = join(dir, 'skopeo', 'auth.json');
    await writeJson(authFile, { auths: {}, credHelpers: { 'registry.example.com': 'pass' } });
    const store = openCredentialStore({ env, authFile, platform: 'linux' });
    await store.store('registry.example.com', { username: 'alice', password: 'p' });
    const { stdout } = await execFileAsync(
      'skopeo',
      ['login', '--get-login', '--authfile', authFile, 'registry.example.com'],
      { env, timeout: 60_000 },
    );
    assert.equal(stdout.trim(), 'alice');
    assert.equal(await store.erase('registry.example.com'), true);
  });
});

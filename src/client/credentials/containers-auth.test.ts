import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { basicAuth, writeJson } from '../../../test/support/credential-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { containersAuthPaths, readContainersAuth } from './containers-auth.js';

describe('containers auth.json locations', () => {
  test('XDG_RUNTIME_DIR first, then XDG_CONFIG_HOME', () => {
    assert.deepEqual(
      containersAuthPaths({
        env: { XDG_RUNTIME_DIR: '/run/user/1000', XDG_CONFIG_HOME: '/cfg', HOME: '/home/u' },
        platform: 'linux',
      }),
      ['/run/user/1000/containers/auth.json', '/cfg/containers/auth.json'],
    );
  });

  test('without XDG variables: /run/containers/<uid>, then ~/.config (the given home over $HOME)', () => {
    assert.deepEqual(containersAuthPaths({ env: { HOME: '/root' }, uid: 0, platform: 'linux' }), [
      '/run/containers/0/auth.json',
      '/root/.config/containers/auth.json',
    ]);
    assert.deepEqual(containersAuthPaths({ env: { HOME: '/h' }, home: '/u', uid: 1000, platform: 'linux' }), [
      '/run/containers/1000/auth.json',
      '/u/.config/containers/auth.json',
    ]);
  });

  test('REGISTRY_AUTH_FILE replaces the runtime file; the config-home file stays a fallback', () => {
    assert.deepEqual(
      containersAuthPaths({
        env: { REGISTRY_AUTH_FILE: '/ci/auth.json', XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/h' },
        platform: 'linux',
      }),
      ['/ci/auth.json', '/h/.config/containers/auth.json'],
    );
    assert.deepEqual(
      containersAuthPaths({
        env: { REGISTRY_AUTH_FILE: '/h/.config/containers/auth.json', HOME: '/h' },
        platform: 'linux',
      }),
      ['/h/.config/containers/auth.json'],
      'listed once',
    );
  });

  test('outside Linux there is no runtime file', () => {
    assert.deepEqual(containersAuthPaths({ env: { HOME: '/Users/u' }, platform: 'darwin' }), [
      '/Users/u/.config/containers/auth.json',
    ]);
  });
});

describe('reading auth.json', () => {
  test('podman’s format: host keys, namespaced keys, legacy URL keys, credHelpers', async (t) => {
    const path = join(await tempDir(t), 'auth.json');
    await writeJson(path, {
      auths: {
        'docker.io': { auth: basicAuth('hub', 'x') },
        'quay.io/team': { auth: basicAuth('team', 'x') },
        'https://legacy.example.com/v1/': { auth: basicAuth('legacy', 'x') },
      },
      credHelpers: { 'ecr.example.com': 'ecr-login' },
    });
    const file = await readContainersAuth(path);
    assert.equal(file.findAuth('index.docker.io')?.key, 'docker.io');
    assert.equal(file.findAuth('quay.io', 'team/app')?.key, 'quay.io/team');
    assert.equal(file.findAuth('quay.io'), undefined, 'a namespace entry does not cover the whole host');
    assert.equal(file.findAuth('legacy.example.com')?.key, 'https://legacy.example.com/v1/');
    assert.equal(file.credHelperFor('ecr.example.com'), 'ecr-login');
  });
});

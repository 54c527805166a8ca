import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, open, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { basicAuth, readJson, writeJson } from '../../../test/support/credential-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { BerthError } from '../../oci/errors.js';
import {
  AuthConfigFile,
  authKeyScope,
  detectDefaultCredentialsStore,
  dockerConfigPath,
  writeFileAtomic,
} from './docker-config.js';

const isCode = (code: string) => (e: unknown) => e instanceof BerthError && e.code === code;

describe('dockerConfigPath', () => {
  test('$DOCKER_CONFIG wins, then the given home, then $HOME', () => {
    assert.equal(
      dockerConfigPath({ env: { DOCKER_CONFIG: '/etc/dc', HOME: '/h' }, home: '/x' }),
      '/etc/dc/config.json',
    );
    assert.equal(dockerConfigPath({ env: { HOME: '/h' }, home: '/x' }), '/x/.docker/config.json');
    assert.equal(dockerConfigPath({ env: { HOME: '/h' } }), '/h/.docker/config.json');
    assert.equal(dockerConfigPath({ env: { DOCKER_CONFIG: '', HOME: '/h' } }), '/h/.docker/config.json');
  });
});

describe('reading config.json', () => {
  test('a missing or empty file reads as empty', async (t) => {
    const dir = await tempDir(t);
    const missing = await AuthConfigFile.read(join(dir, 'nope', 'config.json'), 'docker');
    assert.equal(missing.exists, false);
    assert.equal(missing.findAuth('registry.example.com'), undefined);
    await writeFile(join(dir, 'empty.json'), '\n');
    const empty = await AuthConfigFile.read(join(dir, 'empty.json'), 'docker');
    assert.equal(empty.exists, true);
    assert.equal(empty.credsStore, undefined);
  });

  test('auth, username/password and identitytoken entries; the secret-less marker is passed over', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeJson(path, {
      auths: {
        'registry.example.com': { auth: basicAuth('alice', 'pa:ss:word') },
        'plain.example.com': { username: 'bob', password: 'hunter2' },
        'token.example.com': { auth: basicAuth('carol', ''), identitytoken: 'refresh-123' },
        'bare-token.example.com': { identitytoken: 'refresh-456' },
        'helper.example.com': {},
        'https://index.docker.io/v1/': { auth: basicAuth('hubuser', 'hubpass') },
      },
      credsStore: '',
    });
    const file = await AuthConfigFile.read(path, 'docker');
    assert.deepEqual(file.findAuth('registry.example.com')?.credentials, {
      username: 'alice',
      password: 'pa:ss:word',
    });
    assert.deepEqual(file.findAuth('plain.example.com')?.credentials, {
      username: 'bob',
      password: 'hunter2',
    });
    assert.deepEqual(file.findAuth('token.example.com')?.credentials, {
      identityToken: 'refresh-123',
      username: 'carol',
    });
    assert.deepEqual(file.findAuth('bare-token.example.com')?.credentials, { identityToken: 'refresh-456' });
    assert.equal(file.findAuth('helper.example.com'), undefined);
    for (const hub of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      assert.deepEqual(file.findAuth(hub), {
        key: 'https://index.docker.io/v1/',
        credentials: { username: 'hubuser', password: 'hubpass' },
      });
    }
    assert.equal(file.credsStore, undefined, 'an empty credsStore is none, as in Docker');
  });

  test('host keys in every spelling are found; the canonical key wins over legacy ones', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeJson(path, {
      auths: {
        'https://old.example.com/v1/': { auth: basicAuth('legacy', 'x') },
        'http://plain.example.com:5000': { auth: basicAuth('plain', 'x') },
        'https://twice.example.com': { auth: basicAuth('legacy', 'x') },
        'twice.example.com': { auth: basicAuth('current', 'x') },
        'Upper.Example.com:5000/some/path': { auth: basicAuth('upper', 'x') },
      },
    });
    const file = await AuthConfigFile.read(path, 'docker');
    const user = (host: string) => {
      const found = file.findAuth(host)?.credentials;
      return found && 'username' in found ? found.username : undefined;
    };
    assert.equal(user('old.example.com'), 'legacy');
    assert.equal(user('plain.example.com:5000'), 'plain');
    assert.equal(user('plain.example.com'), undefined, 'the port is part of the host');
    assert.equal(user('twice.example.com'), 'current');
    assert.equal(user('https://twice.example.com/v2/'), 'current');
    assert.equal(user('upper.example.com:5000'), 'upper');
  });

  test('credHelpers match by host in any spelling; credsStore is the fallback name', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeJson(path, {
      credsStore: 'desktop',
      credHelpers: {
        'https://index.docker.io/v1/': 'hub-helper',
        'gcr.io': 'gcloud',
        'https://legacy.example.com': 'legacy-helper',
        '123.dkr.ecr.us-east-1.amazonaws.com': 'ecr-login',
      },
    });
    const file = await AuthConfigFile.read(path, 'docker');
    assert.equal(file.credHelperFor('docker.io'), 'hub-helper');
    assert.equal(file.credHelperFor('GCR.io'), 'gcloud');
    assert.equal(file.credHelperFor('legacy.example.com'), 'legacy-helper');
    assert.equal(file.credHelperFor('123.dkr.ecr.us-east-1.amazonaws.com'), 'ecr-login');
    assert.equal(file.credHelperFor('quay.io'), undefined);
    assert.equal(file.credsStore, 'desktop');
  });

  test('malformed JSON is CREDENTIALS_CONFIG_INVALID naming the file and place, never quoting it', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeFile(path, '{\n  "auths": {\n    "r.example.com": {"auth": "c2VjcmV0LXZhbHVl"}\n  },,\n}\n');
    await assert.rejects(AuthConfigFile.read(path, 'docker'), (e: unknown) => {
      assert.ok(isCode('CREDENTIALS_CONFIG_INVALID')(e));
      const message = (e as Error).message;
      assert.ok(message.includes(path), message);
      assert.match(message, /line 4/);
      assert.ok(!message.includes('c2VjcmV0LXZhbHVl'), `the message quotes the file: ${message}`);
      assert.equal((e as Error).cause, undefined);
      return true;
    });
  });

  test('a wrong shape is CREDENTIALS_CONFIG_INVALID naming the file and the key', async (t) => {
    const dir = await tempDir(t);
    const cases: [unknown, RegExp][] = [
      [[], /not a JSON object/],
      [{ auths: [] }, /"auths" is not an object/],
      [{ auths: { 'r.example.com': 'dXNlcjpwdw==' } }, /auths entry "r.example.com" is not an object/],
      [{ auths: { 'r.example.com': { auth: 42 } } }, /"auth" of auths entry "r.example.com"/],
      [{ credHelpers: { 'r.example.com': '../../bin/evil' } }, /credHelpers entry "r.example.com"/],
      [{ credHelpers: { 'r.example.com': 7 } }, /credHelpers entry/],
      [{ credsStore: 'pass/../x' }, /"credsStore" is not a helper name/],
    ];
    for (const [i, [document, why]] of cases.entries()) {
      const path = join(dir, `config-${i}.json`);
      await writeJson(path, document);
      await assert.rejects(AuthConfigFile.read(path, 'docker'), (e: unknown) => {
        assert.ok(isCode('CREDENTIALS_CONFIG_INVALID')(e), String(e));
        assert.ok((e as Error).message.includes(path));
        assert.match((e as Error).message, why);
        return true;
      });
    }
  });

  test('an auth field that is not base64 of user:password fails when that host is looked up', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeJson(path, {
      auths: {
        'nocolon.example.com': { auth: Buffer.from('justauser').toString('base64') },
        'notbase64.example.com': { auth: 'not base64!' },
        'fine.example.com': { auth: basicAuth('u', 'p') },
      },
    });
    const file = await AuthConfigFile.read(path, 'docker');
    assert.ok(file.findAuth('fine.example.com'), 'other hosts still work');
    for (const host of ['nocolon.example.com', 'notbase64.example.com']) {
      assert.throws(
        () => file.findAuth(host),
        (e: unknown) =>
          isCode('CREDENTIALS_CONFIG_INVALID')(e) &&
          (e as Error).message.includes(path) &&
          (e as Error).message.includes(host),
      );
    }
  });

  test('an unreadable path is CREDENTIALS_FILE_UNREADABLE', async (t) => {
    const dir = await tempDir(t);
    await mkdir(join(dir, 'config.json'));
    await assert.rejects(
      AuthConfigFile.read(join(dir, 'config.json'), 'docker'),
      isCode('CREDENTIALS_FILE_UNREADABLE'),
    );
  });
});

describe('writing config.json', () => {
  test('base64 auth under Docker’s key; unknown keys and entry fields kept; mode 0600, folder 0700', async (t) => {
    const dir = await tempDir(t);
    const folder = join(dir, 'home', '.docker');
    const path = join(folder, 'config.json');
    const original = {
      auths: {
        'keep.example.com': { auth: basicAuth('k', 'v'), email: 'k@example.com', futureField: [1, 2] },
        'registry.example.com:5000': { email: 'old@example.com', auth: basicAuth('old', 'old') },
      },
      psFormat: 'table {{.ID}}',
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
      plugins: { buildx: { enabled: 'true' } },
      currentContext: 'colima',
    };
    await writeJson(path, original);
    await chmod(path, 0o644);
    const file = await AuthConfigFile.read(path, 'docker');
    assert.equal(
      file.setAuth('registry.example.com:5000', { username: 'alice', password: 's3cret' }),
      'registry.example.com:5000',
    );
    assert.equal(
      file.setAuth('docker.io', { username: 'hub', password: 'pw' }),
      'https://index.docker.io/v1/',
    );
    await file.save();

    const written = await readJson(path);
    assert.deepEqual(written, {
      ...original,
      auths: {
        ...original.auths,
        'registry.example.com:5000': { email: 'old@example.com', auth: basicAuth('alice', 's3cret') },
        'https://index.docker.io/v1/': { auth: basicAuth('hub', 'pw') },
      },
    });
    assert.match(await readFile(path, 'utf8'), /^\{\n\t"auths"/, 'tab-indented as Docker writes it');
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const fresh = join(dir, 'new', 'deeper', 'config.json');
    const created = AuthConfigFile.empty(fresh, 'docker');
    created.setAuth('r.example.com', { identityToken: 'tok', username: 'ida' });
    await created.save();
    assert.equal((await stat(join(dir, 'new', 'deeper'))).mode & 0o777, 0o700);
    assert.equal((await stat(fresh)).mode & 0o777, 0o600);
    assert.deepEqual(await readJson(fresh), {
      auths: { 'r.example.com': { auth: basicAuth('ida', ''), identitytoken: 'tok' } },
    });
  });

  test('the helper marker drops every secret field and keeps the rest; removeAuths takes every spelling', async (t) => {
    const path = join(await tempDir(t), 'config.json');
    await writeJson(path, {
      auths: {
        'registry.example.com': { auth: basicAuth('a', 'b'), identitytoken: 't', email: 'e@example.com' },
        'https://registry.example.com/v1/': { auth: basicAuth('a', 'b') },
        'http://registry.example.com': {},
        'other.example.com': { auth: basicAuth('o', 'o') },
      },
    });
    const file = await AuthConfigFile.read(path, 'docker');
    file.markStoredInHelper('registry.example.com');
    await file.save();
    assert.deepEqual((await readJson(path)).auths, {
      'registry.example.com': { email: 'e@example.com' },
      'https://registry.example.com/v1/': { auth: basicAuth('a', 'b') },
      'http://registry.example.com': {},
      'other.example.com': { auth: basicAuth('o', 'o') },
    });
    const again = await AuthConfigFile.read(path, 'docker');
    assert.deepEqual(again.removeAuths('https://REGISTRY.example.com/'), [
      'registry.example.com',
      'https://registry.example.com/v1/',
      'http://registry.example.com',
    ]);
    await again.save();
    assert.deepEqual((await readJson(path)).auths, { 'other.example.com': { auth: basicAuth('o', 'o') } });
  });

  test('writes are atomic: a new inode, no temporary file left, readers never see half a file', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'config.json');
    const big = { auths: {} as Record<string, unknown>, padding: 'x'.repeat(256 * 1024) };
    for (let i = 0; i < 200; i++) big.auths[`r${i}.example.com`] = { auth: basicAuth(`u${i}`, `p${i}`) };
    await writeJson(path, big);
    const originalText = await readFile(path, 'utf8');
    // Held open, the original keeps its inode (no reuse) and shows whether anyone wrote into it.
    const original = await open(path, 'r');
    t.after(() => original.close());

    let writing = true;
    const reads: Promise<number>[] = [];
    const reader = (async () => {
      let count = 0;
      while (writing) {
        JSON.parse(await readFile(path, 'utf8'));
        count++;
      }
      return count;
    })();
    reads.push(reader);
    for (let i = 0; i < 30; i++) {
      const file = await AuthConfigFile.read(path, 'docker');
      file.setAuth('busy.example.com', { username: 'u', password: `p${i}` });
      await file.save();
    }
    writing = false;
    const [count] = await Promise.all(reads);
    assert.ok((count ?? 0) > 0, 'the reader ran');
    assert.notEqual((await stat(path)).ino, (await original.stat()).ino, 'replaced by rename');
    assert.equal(await original.readFile('utf8'), originalText, 'the old file was never written into');
    assert.deepEqual(await readdir(dir), ['config.json']);
  });

  test('a symlinked config.json is written through, the link kept', async (t) => {
    const dir = await tempDir(t);
    const real = join(dir, 'dotfiles', 'docker-config.json');
    await writeJson(real, { auths: {} });
    await mkdir(join(dir, '.docker'));
    const link = join(dir, '.docker', 'config.json');
    await symlink(real, link);
    const file = await AuthConfigFile.read(link, 'docker');
    file.setAuth('r.example.com', { username: 'u', password: 'p' });
    await file.save();
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.deepEqual((await readJson(real)).auths, { 'r.example.com': { auth: basicAuth('u', 'p') } });
    assert.deepEqual(await readdir(join(dir, 'dotfiles')), ['docker-config.json']);
  });

  test('a write that cannot happen is CREDENTIALS_WRITE_FAILED naming the file', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'not-a-folder'), '');
    const path = join(dir, 'not-a-folder', 'config.json');
    await assert.rejects(writeFileAtomic(path, '{}'), (e: unknown) => {
      assert.ok(isCode('CREDENTIALS_WRITE_FAILED')(e));
      assert.ok((e as Error).message.includes(path));
      return true;
    });
  });
});

describe('auth.json keys', () => {
  test('namespaced keys keep their path; keys with a scheme are hosts', () => {
    assert.equal(authKeyScope('quay.io/team/app', 'containers'), 'quay.io/team/app');
    assert.equal(authKeyScope('quay.io/team/', 'containers'), 'quay.io/team');
    assert.equal(authKeyScope('Docker.io/library', 'containers'), 'docker.io/library');
    assert.equal(authKeyScope('https://quay.io/v1/', 'containers'), 'quay.io');
    assert.equal(authKeyScope('quay.io/team/app', 'docker'), 'quay.io');
  });

  test('the most specific namespace wins, then the host; config.json ignores namespaces', async (t) => {
    const dir = await tempDir(t);
    const document = {
      auths: {
        'quay.io': { auth: basicAuth('host', 'x') },
        'quay.io/team': { auth: basicAuth('team', 'x') },
        'quay.io/team/app': { auth: basicAuth('app', 'x') },
      },
    };
    await writeJson(join(dir, 'auth.json'), document);
    const file = await AuthConfigFile.read(join(dir, 'auth.json'), 'containers');
    const key = (repository?: string) => file.findAuth('quay.io', repository)?.key;
    assert.equal(key('team/app'), 'quay.io/team/app');
    assert.equal(key('team/app/sub'), 'quay.io/team/app');
    assert.equal(key('team/other'), 'quay.io/team');
    assert.equal(key('elsewhere/app'), 'quay.io');
    assert.equal(key(), 'quay.io');
    assert.equal(key('team2/app'), 'quay.io', 'namespaces match by whole components');
    assert.equal(file.setAuth('index.docker.io', { username: 'u', password: 'p' }), 'docker.io');
  });
});

describe("Docker's default credential store", () => {
  test('pass once it is set up, else the Secret Service in a desktop session, else none', async (t) => {
    const dir = await tempDir(t);
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const install = async (name: string) => {
      await writeFile(join(bin, name), '#!/bin/sh\nexit 0\n');
      await chmod(join(bin, name), 0o755);
    };
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: dir };
    assert.equal(await detectDefaultCredentialsStore(env, 'linux'), undefined);
    await install('docker-credential-secretservice');
    assert.equal(
      await detectDefaultCredentialsStore(env, 'linux'),
      undefined,
      'no desktop session: no Secret Service',
    );
    const desktop = { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' };
    assert.equal(await detectDefaultCredentialsStore(desktop, 'linux'), 'secretservice');
    await install('pass');
    await install('docker-credential-pass');
    assert.equal(
      await detectDefaultCredentialsStore(env, 'linux'),
      undefined,
      'pass installed but never initialized',
    );
    await mkdir(join(dir, '.password-store'));
    await writeFile(join(dir, '.password-store', '.gpg-id'), 'test@example.invalid\n');
    assert.equal(await detectDefaultCredentialsStore(env, 'linux'), 'pass');
    assert.equal(await detectDefaultCredentialsStore(desktop, 'linux'), 'pass', 'pass first, as Docker does');
    const elsewhere = join(dir, 'store');
    assert.equal(
      await detectDefaultCredentialsStore({ ...env, PASSWORD_STORE_DIR: elsewhere }, 'linux'),
      undefined,
    );
    assert.equal(await detectDefaultCredentialsStore(env, 'darwin'), undefined);
    await install('docker-credential-osxkeychain');
    assert.equal(await detectDefaultCredentialsStore(env, 'darwin'), 'osxkeychain');
    assert.equal(await detectDefaultCredentialsStore(env, 'freebsd'), undefined);
    await writeFile(join(bin, 'docker-credential-wincred'), 'not executable');
    assert.equal(await detectDefaultCredentialsStore(env, 'win32'), undefined);
  });
});

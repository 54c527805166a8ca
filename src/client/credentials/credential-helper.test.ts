// The docker-credential-helpers protocol against the tests' own helper script (a real process on PATH).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { installTestHelper, type TestHelper } from '../../../test/support/credential-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { BerthError } from '../../oci/errors.js';
import { CredentialHelper } from './credential-helper.js';

const SECRET = 'top-s3cret-value';

async function setup(
  t: Parameters<typeof tempDir>[0],
  extraEnv: NodeJS.ProcessEnv = {},
  options: { timeoutMs?: number } = {},
): Promise<{ helper: CredentialHelper; fixture: TestHelper }> {
  const fixture = await installTestHelper(await tempDir(t));
  const helper = new CredentialHelper(fixture.name, {
    env: { PATH: fixture.binDir, ...extraEnv },
    origin: 'credsStore in /test/config.json',
    ...options,
  });
  return { helper, fixture };
}

function assertHelperError(code: string, ...parts: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.code, code, e.message);
    for (const part of parts) assert.ok(e.message.includes(part), `"${part}" missing from: ${e.message}`);
    assert.ok(!e.message.includes(SECRET), `the secret leaked into: ${e.message}`);
    return true;
  };
}

describe('credential helper protocol', () => {
  test('store, get, list, erase round trip', async (t) => {
    const { helper, fixture } = await setup(t);
    assert.equal(helper.program, 'docker-credential-berthtest');
    await helper.store({ serverUrl: 'registry.example.com:5000', username: 'alice', secret: SECRET });
    await helper.store({ serverUrl: 'https://index.docker.io/v1/', username: '<token>', secret: 'refresh' });
    assert.deepEqual(await fixture.entries(), {
      'registry.example.com:5000': { Username: 'alice', Secret: SECRET },
      'https://index.docker.io/v1/': { Username: '<token>', Secret: 'refresh' },
    });
    assert.deepEqual(await helper.get('registry.example.com:5000'), {
      serverUrl: 'registry.example.com:5000',
      username: 'alice',
      secret: SECRET,
    });
    assert.deepEqual(await helper.list(), {
      'registry.example.com:5000': 'alice',
      'https://index.docker.io/v1/': '<token>',
    });
    assert.equal(await helper.erase('registry.example.com:5000'), true);
    assert.equal(await helper.get('registry.example.com:5000'), undefined);
    assert.equal(await helper.erase('registry.example.com:5000'), false, 'a miss is not an error');
    assert.deepEqual(
      (await fixture.calls()).map((c) => c.action),
      ['store', 'store', 'get', 'list', 'erase', 'get', 'erase'],
    );
  });

  test('a miss answered with exit 0 and empty fields (pass 0.6) is a miss', async (t) => {
    const { helper } = await setup(t, { BERTHTEST_EMPTY_MISS: '1' });
    assert.equal(await helper.get('nothing.example.com'), undefined);
  });

  test('a failing helper is CREDENTIAL_HELPER_FAILED naming the helper, its origin, the server and its message', async (t) => {
    const { helper } = await setup(t, { BERTHTEST_FAIL: 'keychain locked' });
    await assert.rejects(
      helper.get('registry.example.com'),
      assertHelperError(
        'CREDENTIAL_HELPER_FAILED',
        'docker-credential-berthtest',
        'credsStore in /test/config.json',
        'registry.example.com',
        'exit code 3',
        'keychain locked',
        'more detail on stderr',
      ),
    );
    await assert.rejects(
      helper.erase('registry.example.com'),
      assertHelperError('CREDENTIAL_HELPER_FAILED', 'erase', 'keychain locked'),
    );
  });

  test('a helper echoing its input on failure does not leak the secret into the error', async (t) => {
    const { helper } = await setup(t, { BERTHTEST_FAIL: 'cannot store', BERTHTEST_ECHO: '1' });
    await assert.rejects(
      helper.store({ serverUrl: 'registry.example.com', username: 'alice', secret: SECRET }),
      assertHelperError(
        'CREDENTIAL_HELPER_FAILED',
        'store credentials for registry.example.com',
        'cannot store',
        '***',
      ),
    );
  });

  test('an unreadable answer is an error that does not quote the answer', async (t) => {
    const { helper, fixture } = await setup(t, { BERTHTEST_GARBAGE: '1' });
    await fixture.seed({ 'registry.example.com': { Username: 'alice', Secret: SECRET } });
    await assert.rejects(
      helper.get('registry.example.com'),
      assertHelperError('CREDENTIAL_HELPER_FAILED', 'not valid JSON'),
    );
  });

  test('a helper not on PATH is CREDENTIAL_HELPER_NOT_FOUND naming the program', async (t) => {
    const dir = await tempDir(t);
    const helper = new CredentialHelper('nosuchhelper', {
      env: { PATH: dir },
      origin: 'credHelpers in /c.json',
    });
    await assert.rejects(
      helper.get('registry.example.com'),
      assertHelperError(
        'CREDENTIAL_HELPER_NOT_FOUND',
        'docker-credential-nosuchhelper',
        'not found on PATH',
        'credHelpers in /c.json',
        'registry.example.com',
      ),
    );
  });

  test('a helper that never answers is stopped after the timeout', async (t) => {
    const { helper } = await setup(t, { BERTHTEST_HANG: '1' }, { timeoutMs: 400 });
    const started = Date.now();
    await assert.rejects(
      helper.get('registry.example.com'),
      assertHelperError('CREDENTIAL_HELPER_FAILED', 'registry.example.com', 'no answer within'),
    );
    assert.ok(Date.now() - started < 5000);
  });

  test('list is optional: a helper without it fails only that call', async (t) => {
    const { helper } = await setup(t, { BERTHTEST_NO_LIST: '1' });
    await assert.rejects(helper.list(), assertHelperError('CREDENTIAL_HELPER_FAILED', 'list credentials'));
    assert.equal(await helper.get('registry.example.com'), undefined);
  });
});

// Docker registry token auth (Bearer challenges) end to end: CNCF Distribution with `auth: token:` and a
// token server of the tests' own that signs JWTs and records every request. Anonymous callers get pull-only
// tokens; a login fetches tokens per scope; a mount asks for pull on the source repository; a token that
// stops working in the middle of a long push is replaced and the push completes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ClientEnv, makeClientEnv } from '../support/containers.js';
import {
  type Distribution,
  requireDistribution,
  startDistribution,
  startTokenServer,
  type TokenServer,
} from '../support/distribution.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  actions,
  assertNotTagged,
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  bigLayout,
  countingProxy,
  getManifest,
  MiB,
  type PushReport,
  pushJson,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const gate = await requireDistribution('skopeo', 'umoci', 'openssl');

const USER = 'bob';
const PASSWORD = 'token-secret';

describe('token auth against Distribution', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let tokens: TokenServer | undefined;
  let distribution: Distribution | undefined;
  let registry: TestRegistry;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let counter = 0;

  const freshEnv = (): Promise<BerthEnv> => berthEnv(join(work, 'berth', `env-${++counter}`));
  const dest = (repo: string, host = registry.hostPort): string => `docker://${host}/${repo}:v1`;
  const expected = () => ({ configDigest: v1.config.digest, diffIds: v1.diffIds, manifestDigest: v1.digest });
  const tokenRequests = () => tokens?.requests ?? [];
  const loggedIn = async (): Promise<BerthEnv> => {
    const be = await freshEnv();
    assertOk(
      await berth(be, ['login', registry.hostPort, '-u', USER, '--password-stdin'], {
        input: PASSWORD,
        env: { PATH: join(work, 'no-helpers') },
      }),
    );
    return be;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-token-');
    tokens = await startTokenServer({ dir: join(work, 'token'), users: { [USER]: PASSWORD } });
    distribution = await startDistribution({ dir: join(work, 'distribution'), token: tokens });
    const server = tokens;
    registry = {
      name: 'distribution-token',
      hostPort: distribution.hostPort,
      url: distribution.url,
      credentials: { username: USER, password: PASSWORD },
      // The test's own reads fetch a pull token, as any client would.
      async authorize(repo) {
        const url = new URL(server.realm);
        url.searchParams.set('service', server.service);
        url.searchParams.set('scope', `repository:${repo}:pull`);
        const res = await fetch(url, {
          headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
        });
        const { token } = (await res.json()) as { token: string };
        server.requests.pop();
        return { authorization: `Bearer ${token}` };
      },
    };
    client = await makeClientEnv(join(work, 'clients'), distribution.hostPort);
    ({ layout, v1 } = await buildTestLayout(client, join(work, 'umoci')));
  });

  after(async () => {
    await distribution?.stop();
    await tokens?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('anonymous push: the pull-only token does not allow it; one line, nothing tagged', async () => {
    const r = await berth(await freshEnv(), ['push', '--quiet', `oci:${layout}:v1`, dest('tok/anonymous')]);
    assertOneLineFailure(r, /tok\/anonymous/, /authentication|unauthorized|denied|login/i);
    assert.ok(
      tokenRequests().some((q) => q.user === undefined),
      'berth asked the token server anonymously',
    );
    await assertNotTagged(registry, 'tok/anonymous', 'v1');
  });

  test('login through the token realm, then push: one token per scope, reused for every request', async (t) => {
    const be = await loggedIn();
    tokens?.requests.splice(0);
    // One blob at a time, so that no two first requests of a scope race each other for a token.
    const args = [
      'push',
      '--json',
      '--debug',
      '--max-concurrent-uploads',
      '1',
      `oci:${layout}:v1`,
      dest('tok/app'),
    ];
    const r = assertOk(await berth(be, args));
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as PushReport;
    assert.deepEqual(actions(report), ['uploaded']);
    const during = tokenRequests().splice(0);
    assert.ok(
      during.every((q) => q.user === USER && q.service === tokens?.service),
      JSON.stringify(during),
    );
    assert.ok(
      during.some((q) => q.scopes.includes('repository:tok/app:pull,push')),
      JSON.stringify(during),
    );
    // `--debug` logs one `< STATUS METHOD URL` line per registry answer.
    const answers = r.stderr.split('\n').filter((l) => /^< \d{3} /.test(l)).length;
    const sets = during.map((q) => [...q.scopes].sort().join('+') || '(none)');
    t.diagnostic(`${answers} registry answers, ${during.length} token requests: ${sets.join(' | ')}`);
    const repeated = sets.filter((set, i) => sets.indexOf(set) !== i);
    assert.deepEqual(
      repeated,
      [],
      `a token was fetched again for a scope it already had: ${sets.join(' | ')}`,
    );
    await verifyWithSkopeo(client, registry, 'tok/app:v1', report, expected(), work);
  });

  test('a cross-repository mount asks for pull on the source repository and push on the target', async () => {
    const be = await loggedIn();
    await pushJson(be, `oci:${layout}:v1`, dest('tok/source'));
    tokens?.requests.splice(0);
    const report = await pushJson(be, `oci:${layout}:v1`, dest('tok/target'));
    assert.equal(report.uploadedBytes, 0, JSON.stringify(report.blobs));
    assert.deepEqual(actions(report), ['mounted'], JSON.stringify(report.blobs));
    const scopes = tokenRequests().flatMap((q) => q.scopes);
    assert.ok(scopes.includes('repository:tok/source:pull'), JSON.stringify(tokenRequests()));
    assert.ok(scopes.includes('repository:tok/target:pull,push'), JSON.stringify(tokenRequests()));
    await verifyWithSkopeo(client, registry, 'tok/target:v1', report, expected(), work);
  });

  test('a wrong password: login fails with one clear line, nothing stored', async () => {
    const be = await freshEnv();
    const r = await berth(be, ['login', registry.hostPort, '-u', USER, '--password-stdin'], {
      input: 'wrong-password',
      env: { PATH: join(work, 'no-helpers') },
    });
    assertOneLineFailure(r, new RegExp(registry.hostPort.replaceAll('.', '\\.')), /refused|failed/i);
    assert.ok(!r.stderr.includes('wrong-password'));
  });

  test('a token that stops working in the middle of a long push is replaced; the push completes', async (t) => {
    assert.ok(tokens && distribution);
    const be = await loggedIn();
    const big = await bigLayout(join(work, 'big'), 48 * MiB);
    // Tokens the registry accepts for about a second (while the token response promises 300 s), and a link
    // of 12 MiB/s: the 48 MiB layer takes about four seconds, so the first token dies under the upload.
    tokens.lifetime = 2;
    const [host, port] = distribution.hostPort.split(':') as [string, string];
    const slow = await countingProxy({ host, port: Number(port) }, { bytesPerSecond: 12 * MiB });
    t.after(async () => {
      if (tokens) tokens.lifetime = 300;
      await slow.close();
    });
    tokens.requests.splice(0);
    const started = Date.now();
    // The credentials go with the flag: a login is per host:port, and the proxy is another one.
    const report = await pushJson(be, big.location, dest('tok/big', slow.hostPort), [
      '--chunk-size',
      '4MiB',
      '--creds',
      `${USER}:${PASSWORD}`,
    ]);
    const seconds = (Date.now() - started) / 1000;
    const pushTokens = tokenRequests().filter((q) => q.scopes.includes('repository:tok/big:pull,push'));
    t.diagnostic(
      `push took ${seconds.toFixed(1)} s, ${pushTokens.length} push-scope tokens, ${slow.take()} bytes sent`,
    );
    assert.equal(report.digest, big.expected.manifestDigest);
    assert.ok(seconds > 2.5, `precondition: the push outlived a token (${seconds} s)`);
    assert.ok(pushTokens.length >= 2, `the expired token was replaced: ${JSON.stringify(tokenRequests())}`);
    tokens.lifetime = 300;
    assert.equal((await getManifest(registry, 'tok/big', 'v1')).digest, big.expected.manifestDigest);
    await verifyWithSkopeo(client, registry, 'tok/big:v1', report, big.expected, work);
  });
});

// Real clients against a Berth with token auth over HTTPS (its own `--tls self-signed` CA, trusted through
// --cert-dir / --ca-file, verification on): skopeo with --creds and after `skopeo login`, podman login / pull /
// push, `berth login` + `berth push`; the same clients refused where they should be (anonymous push: 401,
// a developer pushing where they are a guest: 403, private pulls without credentials). A long push through a
// throttling proxy outlives several 10-second tokens and completes.
// Mandatory with BERTH_TEST_INTEROP=1; skipped when a client is missing otherwise.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
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
  pushJson,
} from '../importer/importer-fixtures.js';
import {
  type Account,
  addMember,
  addProject,
  addRobot,
  addUser,
  bootstrapAdmin,
} from '../support/access-fixtures.js';
import {
  type ClientEnv,
  makeClientEnv,
  requireTools,
  run,
  runFailing,
  sha256,
} from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo', 'podman', 'umoci');

/** What containers/image says for a 401 and for a 403 from the registry. */
const UNAUTHORIZED = /unauthorized|authentication required/i;
const DENIED = /denied/i;

describe('real clients over HTTPS with token auth', { skip: gate.skip, concurrency: 2 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  let work: string;
  let counter = 0;

  /** A Berth over HTTPS with its own CA; accounts and projects as the tests below expect. */
  const startTls = async (config: Record<string, unknown> = {}) => {
    const n = ++counter;
    const data = join(work, `berth-${n}`);
    const server = await startTestServer({
      data,
      config: { 'auth.mode': 'token', 'tls.selfSigned': true, ...config },
    });
    cleanups.push(() => server.close());
    assert.match(server.url, /^https:\/\//);
    assert.ok(server.caPath, 'a self-signed server names its CA');
    await addProject(server, 'team', false);
    await addProject(server, 'pub', true);
    const dev = await addUser(server, 'dev', 'dev-password');
    await addMember(server, 'team', dev, 'developer');
    await addMember(server, 'pub', dev, 'guest');
    const robot = await addRobot(server, 'robot$ci', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
    // A certs.d-style folder for containers/image (`ca.crt`) and the PEM itself for berth --ca-file.
    const certDir = join(work, `certs-${n}`);
    await mkdir(certDir, { recursive: true });
    await copyFile(server.caPath, join(certDir, 'ca.crt'));
    return { server, dev, robot, admin: bootstrapAdmin(server), certDir, ca: server.caPath };
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-real-clients-');
  });

  describe('skopeo, podman and berth push and pull; refused where they should be', { concurrency: 1 }, () => {
    let server: RunningServer;
    let host: string;
    let dev: Account;
    let robot: Account;
    let admin: Account;
    let certDir: string;
    let ca: string;
    let client: ClientEnv;
    let layout: string;
    let v1: LayoutImage;
    const creds = (a: Account): string => `${a.name}:${a.password}`;
    const skopeoRun = (args: string[]) => run(client, 'skopeo', ['--policy', client.policy, ...args]);
    const skopeoFail = (args: string[]) => runFailing(client, 'skopeo', ['--policy', client.policy, ...args]);
    const ref = (repo: string) => `docker://${host}/${repo}`;
    /** The manifest digest of a reference, as skopeo reads it with the admin's credentials. */
    const digestOf = async (repo: string): Promise<string> => {
      const { stdout } = await skopeoRun([
        'inspect',
        '--raw',
        '--cert-dir',
        certDir,
        '--creds',
        creds(admin),
        ref(repo),
      ]);
      return sha256(stdout);
    };

    before(async () => {
      ({ server, dev, robot, admin, certDir, ca } = await startTls());
      host = server.hostPort;
      client = await makeClientEnv(join(work, 'clients'), host);
      // makeClientEnv marks the registry insecure (no TLS verification): here it must be verified.
      await writeFile(
        client.env.CONTAINERS_REGISTRIES_CONF as string,
        'unqualified-search-registries = []\n',
      );
      ({ layout, v1 } = await buildTestLayout(client, join(work, 'images')));
    });

    test('skopeo verifies the certificate: without the CA it fails, with --cert-dir and --creds it pushes and pulls', async () => {
      const untrusted = await skopeoFail([
        'copy',
        '--dest-creds',
        creds(dev),
        `oci:${layout}:v1`,
        ref('team/skopeo:v1'),
      ]);
      assert.match(untrusted.stderr, /certificate|x509/i, untrusted.stderr);

      await skopeoRun([
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        creds(dev),
        `oci:${layout}:v1`,
        ref('team/skopeo:v1'),
      ]);
      assert.equal(await digestOf('team/skopeo:v1'), v1.digest);
      const out = join(work, 'pulled-skopeo');
      await skopeoRun([
        'copy',
        '--src-cert-dir',
        certDir,
        '--src-creds',
        creds(dev),
        ref('team/skopeo:v1'),
        `dir:${out}`,
      ]);
      assert.equal(sha256(await readFile(join(out, 'manifest.json'))), v1.digest);
      const tags = await skopeoRun([
        'list-tags',
        '--cert-dir',
        certDir,
        '--creds',
        creds(dev),
        ref('team/skopeo'),
      ]);
      assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
    });

    test('skopeo login (a robot) into an auth file, then copy and inspect with it; a wrong secret fails to log in', async () => {
      const authfile = join(work, 'skopeo-auth.json');
      await skopeoRun([
        'login',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        '--username',
        robot.name,
        '--password',
        robot.password,
        host,
      ]);
      const stored = JSON.parse(await readFile(authfile, 'utf8')) as {
        auths: Record<string, { auth: string }>;
      };
      assert.equal(Buffer.from(stored.auths[host]?.auth ?? '', 'base64').toString(), creds(robot));
      await skopeoRun([
        'copy',
        '--authfile',
        authfile,
        '--dest-cert-dir',
        certDir,
        `oci:${layout}:v1`,
        ref('team/robot:v1'),
      ]);
      const { stdout } = await skopeoRun([
        'inspect',
        '--raw',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        ref('team/robot:v1'),
      ]);
      assert.equal(sha256(stdout), v1.digest);
      // The robot's glob is team/*: pub is someone else's.
      const denied = await skopeoFail([
        'copy',
        '--authfile',
        authfile,
        '--dest-cert-dir',
        certDir,
        `oci:${layout}:v1`,
        ref('pub/robot:v1'),
      ]);
      assert.match(denied.stderr, DENIED, denied.stderr);

      const wrong = await skopeoFail([
        'login',
        '--authfile',
        join(work, 'skopeo-wrong.json'),
        '--cert-dir',
        certDir,
        '--username',
        robot.name,
        '--password',
        'not-the-secret',
        host,
      ]);
      assert.match(wrong.stderr, /invalid username\/password|unauthorized/i, wrong.stderr);
    });

    test('skopeo refused: anonymous push (401), a developer where they are guest (403), anonymous private pull', async () => {
      const anonymous = await skopeoFail([
        'copy',
        '--dest-cert-dir',
        certDir,
        `oci:${layout}:v1`,
        ref('team/anon:v1'),
      ]);
      assert.match(anonymous.stderr, UNAUTHORIZED, anonymous.stderr);
      const guest = await skopeoFail([
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        creds(dev),
        `oci:${layout}:v1`,
        ref('pub/dev:v1'),
      ]);
      assert.match(guest.stderr, DENIED, guest.stderr);
      assert.doesNotMatch(guest.stderr, UNAUTHORIZED, guest.stderr);
      const privatePull = await skopeoFail([
        'inspect',
        '--raw',
        '--cert-dir',
        certDir,
        ref('team/skopeo:v1'),
      ]);
      assert.match(privatePull.stderr, UNAUTHORIZED, privatePull.stderr);
      // Anonymous pulls from the public project work.
      await skopeoRun([
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        creds(admin),
        `oci:${layout}:v1`,
        ref('pub/app:v1'),
      ]);
      const { stdout } = await skopeoRun(['inspect', '--raw', '--cert-dir', certDir, ref('pub/app:v1')]);
      assert.equal(sha256(stdout), v1.digest);
      for (const repo of ['team/anon:v1', 'pub/dev:v1']) {
        const check = await skopeoFail([
          'inspect',
          '--raw',
          '--cert-dir',
          certDir,
          '--creds',
          creds(admin),
          ref(repo),
        ]);
        assert.match(
          check.stderr,
          /manifest unknown|name unknown/i,
          `${repo} must not exist: ${check.stderr}`,
        );
      }
    });

    test('podman login with --cert-dir, pull and push; refused as guest (403) and after logout (401)', async () => {
      const authfile = join(work, 'podman-auth.json');
      await writeFile(authfile, '{"auths":{}}\n');
      const podman = (args: string[]) => run(client, 'podman', args, { timeout: 180_000 });
      const podmanFail = (args: string[]) => runFailing(client, 'podman', args, { timeout: 180_000 });
      const login = await podman([
        'login',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        '--username',
        dev.name,
        '--password',
        dev.password,
        host,
      ]);
      assert.match(login.stdout, /Login Succeeded/i);
      await podman([
        'pull',
        '--quiet',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        `${host}/team/skopeo:v1`,
      ]);
      await podman([
        'push',
        '--quiet',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        `${host}/team/skopeo:v1`,
        ref('team/podman:v1'),
      ]);
      const pushed = JSON.parse(
        (await skopeoRun(['inspect', '--cert-dir', certDir, '--creds', creds(admin), ref('team/podman:v1')]))
          .stdout,
      ) as { Layers: string[] };
      assert.equal(pushed.Layers.length, v1.layers.length);

      const guest = await podmanFail([
        'push',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        `${host}/team/skopeo:v1`,
        ref('pub/podman:v1'),
      ]);
      assert.match(guest.stderr, DENIED, guest.stderr);
      await podman(['logout', '--authfile', authfile, host]);
      const anonymous = await podmanFail([
        'push',
        '--authfile',
        authfile,
        '--cert-dir',
        certDir,
        `${host}/team/skopeo:v1`,
        ref('team/podman-anon:v1'),
      ]);
      assert.match(anonymous.stderr, UNAUTHORIZED, anonymous.stderr);
    });

    test('berth login + berth push with --ca-file; refused as guest (403) and without login (401)', async () => {
      // An auth file of its own (podman-style): Docker's default store here would be `pass`, not set up.
      const be = await berthEnv(join(work, 'berth-cli'));
      const authfile = ['--authfile', be.authFile];
      const login = assertOk(
        await berth(
          be,
          ['login', host, '--username', dev.name, '--password-stdin', '--ca-file', ca, ...authfile],
          {
            input: dev.password,
          },
        ),
      );
      assert.match(login.stdout, /Login Succeeded/);
      const report = await pushJson(be, `oci:${layout}:v1`, ref('team/berth:v1'), [
        '--ca-file',
        ca,
        ...authfile,
      ]);
      assert.equal(report.digest, v1.digest);
      assert.equal(await digestOf('team/berth:v1'), v1.digest);

      const guest = await berth(be, [
        'push',
        '--quiet',
        '--ca-file',
        ca,
        ...authfile,
        `oci:${layout}:v1`,
        ref('pub/berth:v1'),
      ]);
      assertOneLineFailure(guest, /denied|403|not allowed/i);
      const fresh = await berthEnv(join(work, 'berth-cli-anon'));
      const anonymous = await berth(fresh, [
        'push',
        '--quiet',
        '--ca-file',
        ca,
        `oci:${layout}:v1`,
        ref('team/berth-anon:v1'),
      ]);
      assertOneLineFailure(anonymous, /401|unauthorized|authentication|credentials|log in/i);
      const wrong = await berth(
        fresh,
        ['login', host, '-u', dev.name, '--password-stdin', '--ca-file', ca, '--authfile', fresh.authFile],
        {
          input: 'wrong-password',
        },
      );
      assertOneLineFailure(wrong, /refused the credentials|unauthorized|401/i);
      const untrusted = await berth(fresh, [
        'push',
        '--quiet',
        '--creds',
        creds(dev),
        `oci:${layout}:v1`,
        ref('team/berth-x:v1'),
      ]);
      assertOneLineFailure(untrusted, /TLS|certificate|x509/i);
    });
  });

  test('a long push outlives its 10-second tokens (throttled through a proxy) and completes', async (t) => {
    const { server, dev, ca } = await startTls({ 'auth.token.expiresIn': 10 });
    const access = server.access;
    assert.ok(access);
    // Count every token the server signs (the login cache means audit rows would not show refreshes).
    const issued: number[] = [];
    const issue = access.tokens.issue.bind(access.tokens);
    access.tokens.issue = (...args: Parameters<typeof issue>) => {
      issued.push(Date.now());
      return issue(...args);
    };
    const port = Number(server.hostPort.slice(server.hostPort.lastIndexOf(':') + 1));
    const size = 100 * MiB;
    const rate = 5 * MiB;
    const proxy = await countingProxy({ host: '127.0.0.1', port }, { bytesPerSecond: rate });
    cleanups.push(() => proxy.close());
    const big = await bigLayout(join(work, 'big'), size);
    const be: BerthEnv = await berthEnv(join(work, 'berth-long'));
    const started = Date.now();
    const r = await berth(
      be,
      [
        'push',
        '--json',
        '--ca-file',
        ca,
        '--creds',
        `${dev.name}:${dev.password}`,
        '--max-concurrent-uploads',
        '1',
        '--chunk-size',
        '4MiB',
        big.location,
        `docker://${proxy.hostPort}/team/long:v1`,
      ],
      { timeout: 150_000 },
    );
    const seconds = (Date.now() - started) / 1000;
    assertOk(r);
    const report = JSON.parse(r.stdout) as { digest: string };
    assert.equal(report.digest, big.expected.manifestDigest, describeRun(r));
    assert.ok(
      seconds > 15,
      `the push took ${seconds.toFixed(1)} s: too fast for a token to expire in the middle`,
    );
    const span = ((issued.at(-1) ?? 0) - (issued[0] ?? 0)) / 1000;
    assert.ok(
      issued.length >= 2 && span >= 9,
      `tokens were renewed during the ${seconds.toFixed(1)} s push: ${issued.length} issued over ${span.toFixed(1)} s`,
    );
    t.diagnostic(`${seconds.toFixed(1)} s, ${issued.length} tokens over ${span.toFixed(1)} s`);
    // The layer arrived whole and is linked to the repository.
    const linked = await server.metadata.linkedBlobSize(
      'team/long' as Parameters<typeof server.metadata.linkedBlobSize>[0],
      big.expected.diffIds[0] as Parameters<typeof server.metadata.linkedBlobSize>[1],
    );
    assert.equal(linked, big.layerSize);
  });
});

// Transport security as Docker does it, end to end with the real CLI: a real Berth behind a TLS front with a
// throwaway CA (openssl). HTTPS is verified against the system's CAs plus --ca-file / --cert-dir
// (`certs.d/HOST:PORT/ca.crt`, client.cert + client.key for mutual TLS); --tls-verify=false (per side:
// --src-tls-verify, --dest-tls-verify) turns verification off and allows plain HTTP; plain HTTP without it
// only for loopback hosts. `registry.test` is the non-loopback name: a resolver preload in each berth child
// sends it to 127.0.0.1 (no /etc/hosts change), so the loopback rule sees a remote host.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import type { RunningServer } from '../../src/main/server.js';
import {
  type ClientEnv,
  MANIFEST_ACCEPT,
  makeClientEnv,
  requireTools,
  sha256,
} from '../support/containers.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  makeTestPki,
  NON_LOOPBACK_NAME,
  resolverPreload,
  startTlsFront,
  type TestPki,
  type TlsFront,
} from '../support/tls-fixtures.js';
import {
  assertNotTagged,
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  type CliResult,
  describeRun,
  getManifest,
  pushJson,
  type TestRegistry,
} from './importer-fixtures.js';

const gate = await requireTools('openssl', 'umoci');
const distributionGate = await requireDistribution('openssl', 'umoci');

const quote = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** What a TLS failure line must say: that it is about TLS/certificates, and how to fix it. */
const TLS_CAUSE = /TLS|certificate|x509/i;
const TLS_HINTS = [/--ca-file/, /--cert-dir/, /--tls-verify/];

/**
 * One `berth: ` line whose cause (the text after `SRC -> DEST: `, whose paths and repository names could
 * match by accident) names `host` and matches every pattern.
 */
function assertHostFailure(r: CliResult, host: string, ...patterns: RegExp[]): void {
  const line = assertOneLineFailure(r);
  let cause = line.slice('berth: '.length);
  const arrow = cause.indexOf(' -> ');
  if (arrow >= 0) {
    const rest = cause.slice(arrow + ' -> '.length);
    cause = rest.slice(rest.indexOf(' ') + 1);
  }
  for (const pattern of [new RegExp(quote(host)), ...patterns])
    assert.match(cause, pattern, `the cause should match ${pattern}:\n${describeRun(r)}`);
}

// Tests are independent (each pushes to its own repository and counts on its own front): they run
// concurrently, as each berth child spends most of its time starting up.
describe('transport security: HTTPS verified by default, --ca-file, --cert-dir, mTLS, --tls-verify', {
  skip: gate.skip,
  concurrency: 4,
}, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let pki: TestPki;
  let berthA: RunningServer | undefined;
  let berthB: RunningServer | undefined;
  /** Berth A over plain HTTP, behind every front: for checks and for "nothing tagged". */
  let regA: TestRegistry;
  /** Another Berth over plain HTTP, the other side of copies. */
  let regB: TestRegistry;
  /** Berth A behind TLS with the test CA, which the client does not trust unless told. */
  let front: TlsFront;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let nodeOptions: string;
  let counter = 0;

  const freshEnv = (): Promise<BerthEnv> =>
    berthEnv(join(work, 'berth', `env-${++counter}`), {
      NODE_OPTIONS: nodeOptions,
      NO_PROXY: `127.0.0.1,localhost,${NON_LOOPBACK_NAME}`,
      no_proxy: `127.0.0.1,localhost,${NON_LOOPBACK_NAME}`,
    });
  const source = (): string => `oci:${layout}:v1`;
  /** `berth push --quiet ARGS… SRC DEST` in a fresh environment: stderr holds nothing but an error. */
  const push = async (src: string, dest: string, args: string[] = []): Promise<CliResult> =>
    berth(await freshEnv(), ['push', '--quiet', ...args, src, dest]);
  /** `berth push --json`, asserted to succeed: the manifest digest it reports. */
  const pushOk = async (src: string, dest: string, args: string[] = []): Promise<string> =>
    (await pushJson(await freshEnv(), src, dest, args)).digest;
  /** A front's port under the non-loopback name. */
  const remote = (f: TlsFront): string => `${NON_LOOPBACK_NAME}:${f.port}`;
  const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  /** Another TLS front for Berth A, closed with the suite: for tests that count what reaches it. */
  const newFront = async (options: { requireClientCert?: boolean } = {}): Promise<TlsFront> => {
    const f = await startTlsFront({
      upstream: { host: '127.0.0.1', port: portOf(regA.hostPort) },
      pki,
      ...options,
    });
    cleanups.push(() => f.close());
    return f;
  };

  /** GET of a manifest through the TLS front, trusting only the test CA: what an HTTPS client sees. */
  const manifestOverTls = async (
    repo: string,
    reference: string,
  ): Promise<{ status: number; digest: string }> => {
    const dispatcher = new Agent({ connect: { ca: await readFile(pki.caFile, 'utf8') } });
    try {
      const res = await undiciFetch(`https://${front.hostPort}/v2/${repo}/manifests/${reference}`, {
        headers: { accept: MANIFEST_ACCEPT },
        dispatcher,
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { status: res.status, digest: sha256(bytes) };
    } finally {
      await dispatcher.close();
    }
  };

  /** A certs.d folder `DIR/HOST/FILE` with copies of the given files. */
  const certDir = async (name: string, host: string, files: Record<string, string>): Promise<string> => {
    const dir = join(work, 'certs.d', name);
    await mkdir(join(dir, host), { recursive: true });
    for (const [file, from] of Object.entries(files)) await copyFile(from, join(dir, host, file));
    return dir;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-sec-');
    [pki, berthA, berthB, nodeOptions] = await Promise.all([
      makeTestPki(join(work, 'pki')),
      startTestServer({ data: join(work, 'berth-a') }),
      startTestServer({ data: join(work, 'berth-b') }),
      resolverPreload(join(work, 'preload')),
    ]);
    regA = { name: 'berth-a', hostPort: berthA.hostPort, url: berthA.url };
    regB = { name: 'berth-b', hostPort: berthB.hostPort, url: berthB.url };
    front = await newFront();
    client = await makeClientEnv(join(work, 'clients'), berthA.hostPort);
    ({ layout, v1 } = await buildTestLayout(client, join(work, 'umoci')));
    // The image the copy tests read, through the front or directly; pushed over plain HTTP (loopback).
    await pushOk(source(), `docker://${regA.hostPort}/sec/seed:v1`);
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
    await Promise.all([berthA?.close(), berthB?.close()]);
  });

  test('plain HTTP on a loopback host needs no flag', async () => {
    const digest = await pushOk(source(), `docker://${regA.hostPort}/sec/plain:v1`);
    assert.equal(digest, v1.digest, 'the umoci manifest is pushed unchanged');
    assert.equal((await getManifest(regA, 'sec/plain', 'v1')).digest, v1.digest);
  });

  test('plain HTTP on a non-loopback host: refused without --tls-verify=false, works with it', async () => {
    const host = `${NON_LOOPBACK_NAME}:${portOf(regA.hostPort)}`;
    const refused = await push(source(), `docker://${host}/sec/remote-plain:v1`);
    assertHostFailure(refused, host, /TLS|HTTPS|plain HTTP|SSL/i, /--tls-verify/);
    await assertNotTagged(regA, 'sec/remote-plain', 'v1');

    const digest = await pushOk(source(), `docker://${host}/sec/remote-plain:v1`, ['--tls-verify=false']);
    assert.equal((await getManifest(regA, 'sec/remote-plain', 'v1')).digest, digest);
  });

  test('HTTPS with an untrusted CA, loopback host: one line naming the host and the TLS problem, nothing tagged', async () => {
    const r = await push(source(), `docker://${front.hostPort}/sec/untrusted:v1`);
    assertHostFailure(r, front.hostPort, TLS_CAUSE, ...TLS_HINTS);
    await assertNotTagged(regA, 'sec/untrusted', 'v1');
  });

  test('HTTPS with an untrusted CA, non-loopback host: the same line, nothing tagged', async () => {
    const r = await push(source(), `docker://${remote(front)}/sec/untrusted-remote:v1`);
    assertHostFailure(r, remote(front), TLS_CAUSE, ...TLS_HINTS);
    await assertNotTagged(regA, 'sec/untrusted-remote', 'v1');
  });

  test('--ca-file: the push goes over HTTPS, and an HTTPS GET through the front sees its digest', async () => {
    const own = await newFront();
    const digest = await pushOk(source(), `docker://${own.hostPort}/sec/ca-file:v1`, [
      '--ca-file',
      pki.caFile,
    ]);
    assert.equal(digest, v1.digest);
    assert.ok(own.handshakes > 0, 'the push went through the TLS front');
    assert.deepEqual(own.clientErrors, [], 'no failed handshake, no plain HTTP at the TLS port');
    assert.deepEqual(await manifestOverTls('sec/ca-file', 'v1'), { status: 200, digest });
  });

  test('--ca-file with a DNS name: the certificate name is checked (registry.test is in it, other.test not)', async () => {
    const digest = await pushOk(source(), `docker://${remote(front)}/sec/ca-file-name:v1`, [
      '--ca-file',
      pki.caFile,
    ]);
    assert.equal((await getManifest(regA, 'sec/ca-file-name', 'v1')).digest, digest);

    const other = `other.test:${front.port}`;
    const r = await push(source(), `docker://${other}/sec/wrong-name:v1`, ['--ca-file', pki.caFile]);
    assertHostFailure(r, other, /TLS|certificate|altname|hostname/i);
    await assertNotTagged(regA, 'sec/wrong-name', 'v1');
  });

  test('--cert-dir DIR/127.0.0.1:PORT/ca.crt: works', async () => {
    const dir = await certDir('ca-only', front.hostPort, { 'ca.crt': pki.caFile });
    const digest = await pushOk(source(), `docker://${front.hostPort}/sec/cert-dir:v1`, ['--cert-dir', dir]);
    assert.equal((await getManifest(regA, 'sec/cert-dir', 'v1')).digest, digest);
  });

  test('--cert-dir: a folder named without the port does not serve HOST:PORT (as in Docker)', async () => {
    const dir = await certDir('no-port', NON_LOOPBACK_NAME, { 'ca.crt': pki.caFile });
    const r = await push(source(), `docker://${remote(front)}/sec/cert-dir-no-port:v1`, ['--cert-dir', dir]);
    assertHostFailure(r, remote(front), TLS_CAUSE);
    await assertNotTagged(regA, 'sec/cert-dir-no-port', 'v1');
  });

  test('mutual TLS: without client.cert/client.key the push fails clearly; with them it works', async () => {
    const mtls = await newFront({ requireClientCert: true });
    const host = mtls.hostPort;
    const noCert = await certDir('mtls-ca-only', host, { 'ca.crt': pki.caFile });
    const refused = await push(source(), `docker://${host}/sec/mtls:v1`, ['--cert-dir', noCert]);
    assertHostFailure(refused, host, /TLS|certificate/i);
    await assertNotTagged(regA, 'sec/mtls', 'v1');
    assert.equal(mtls.clientSubjects.length, 0, 'no client certificate was presented');

    const withCert = await certDir('mtls', host, {
      'ca.crt': pki.caFile,
      'client.cert': pki.clientCert,
      'client.key': pki.clientKey,
    });
    const digest = await pushOk(source(), `docker://${host}/sec/mtls:v1`, ['--cert-dir', withCert]);
    assert.equal((await getManifest(regA, 'sec/mtls', 'v1')).digest, digest);
    assert.ok(
      mtls.clientSubjects.includes('berth-test-client'),
      `the front saw the client certificate: ${JSON.stringify(mtls.clientSubjects)}`,
    );
  });

  test('mutual TLS: client.cert without client.key is a clear configuration error', async () => {
    const host = `127.0.0.1:${front.port}`;
    const dir = await certDir('mtls-no-key', host, { 'ca.crt': pki.caFile, 'client.cert': pki.clientCert });
    const r = await push(source(), `docker://${host}/sec/mtls-no-key:v1`, ['--cert-dir', dir]);
    assertOneLineFailure(r, /client key/i, new RegExp(quote(join(dir, host, 'client.key'))));
    await assertNotTagged(regA, 'sec/mtls-no-key', 'v1');
  });

  test('--tls-verify=false against the untrusted front: works over HTTPS, without verification', async () => {
    const own = await newFront();
    const hosts = [own.hostPort, remote(own)];
    const digests = await Promise.all(
      hosts.map((host, i) =>
        pushOk(source(), `docker://${host}/sec/no-verify-${i}:v1`, ['--tls-verify=false']),
      ),
    );
    for (const [i, digest] of digests.entries())
      assert.equal((await getManifest(regA, `sec/no-verify-${i}`, 'v1')).digest, digest, hosts[i]);
    // The front speaks only TLS: the pushes went over HTTPS, none fell back to plain HTTP.
    assert.ok(own.handshakes >= 2, `TLS handshakes at the front: ${own.handshakes}`);
    assert.deepEqual(own.clientErrors, [], 'no failed handshake, no plain HTTP at the TLS port');
  });

  test('per side: --src-tls-verify=false reads from the untrusted front; --dest-tls-verify=false alone does not', async () => {
    const src = `docker://${remote(front)}/sec/seed:v1`;
    const [copied, refused] = await Promise.all([
      pushOk(src, `docker://${regB.hostPort}/copied/src-off:v1`, ['--src-tls-verify=false']),
      push(src, `docker://${regB.hostPort}/copied/dest-off:v1`, ['--dest-tls-verify=false']),
    ]);
    assert.equal(copied, v1.digest, 'the copy keeps the manifest');
    assert.equal((await getManifest(regB, 'copied/src-off', 'v1')).digest, v1.digest);
    assertHostFailure(refused, remote(front), TLS_CAUSE);
    await assertNotTagged(regB, 'copied/dest-off', 'v1');
  });

  test('per side: --dest-tls-verify=false writes to the untrusted front; --src-tls-verify=false alone does not', async () => {
    const src = `docker://${regA.hostPort}/sec/seed:v1`;
    const [copied, refused] = await Promise.all([
      pushOk(src, `docker://${remote(front)}/sec/dest-side:v1`, ['--dest-tls-verify=false']),
      push(src, `docker://${remote(front)}/sec/dest-side-refused:v1`, ['--src-tls-verify=false']),
    ]);
    assert.equal(copied, v1.digest);
    assert.equal((await getManifest(regA, 'sec/dest-side', 'v1')).digest, v1.digest);
    assertHostFailure(refused, remote(front), TLS_CAUSE);
    await assertNotTagged(regA, 'sec/dest-side-refused', 'v1');
  });

  describe('berth login over HTTPS to Distribution with htpasswd', { skip: distributionGate.skip }, () => {
    const USER = 'sec-user';
    const PASSWORD = 'sec secret 1';
    let distribution: Distribution | undefined;
    let distFront: TlsFront | undefined;
    let reg: TestRegistry;
    const host = (): string => distFront?.hostPort ?? '?';

    before(async () => {
      distributionGate.assertAvailable();
      distribution = await startDistribution({
        dir: join(work, 'distribution'),
        htpasswd: { username: USER, password: PASSWORD },
      });
      // An HTTP-level front: Distribution writes absolute upload URLs with the scheme of X-Forwarded-Proto.
      distFront = await startTlsFront({
        upstream: { host: '127.0.0.1', port: portOf(distribution.hostPort) },
        pki,
        mode: 'http',
      });
      reg = {
        name: 'distribution',
        hostPort: distribution.hostPort,
        url: distribution.url,
        credentials: { username: USER, password: PASSWORD },
      };
    });

    after(async () => {
      await distFront?.close();
      await distribution?.stop();
    });

    const login = async (be: BerthEnv, args: string[]): Promise<CliResult> =>
      berth(be, ['login', host(), '-u', USER, '--password-stdin', '--authfile', be.authFile, ...args], {
        input: `${PASSWORD}\n`,
      });

    test('login without --ca-file: one line naming the host and the TLS problem, nothing stored', async () => {
      const be = await freshEnv();
      const r = await login(be, []);
      assertHostFailure(r, host(), TLS_CAUSE, ...TLS_HINTS);
      await assert.rejects(readFile(be.authFile, 'utf8'), { code: 'ENOENT' }, 'no auth file written');
    });

    test('login --ca-file stores the credentials for HOST:PORT; a push with them works over HTTPS', async () => {
      const be = await freshEnv();
      const r = assertOk(await login(be, ['--ca-file', pki.caFile]));
      assert.match(r.stdout, /Login Succeeded/, describeRun(r));
      const stored = JSON.parse(await readFile(be.authFile, 'utf8')) as { auths?: Record<string, unknown> };
      assert.ok(stored.auths?.[host()], JSON.stringify(stored));

      const report = await pushJson(be, source(), `docker://${host()}/sec/login:v1`, [
        '--ca-file',
        pki.caFile,
      ]);
      assert.equal(report.digest, v1.digest);
      assert.equal((await getManifest(reg, 'sec/login', 'v1')).digest, v1.digest);
    });
  });
});

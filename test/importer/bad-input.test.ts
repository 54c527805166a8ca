// Bad input, end to end: a truncated archive, a corrupt layer, a missing layer file, an unknown transport,
// an unreachable host, a read-only registry (405) and one that denies (403). Each: a non-zero exit, one line
// on stderr starting with `berth: ` that names the image and the cause, and nothing tagged.
import assert from 'node:assert/strict';
import { cp, open, readFile, rm, stat, truncate } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { blobPath, type ClientEnv, makeClientEnv, run, skopeo } from '../support/containers.js';
import {
  type Distribution,
  freePort,
  requireDistribution,
  startDistribution,
} from '../support/distribution.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  assertNotTagged,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  type CliResult,
  describeRun,
  type TestRegistry,
} from './importer-fixtures.js';

const gate = await requireDistribution('skopeo', 'umoci', 'tar');

/** Regular-file entries of an uncompressed tar: name, where its data starts, its size. */
async function tarEntries(path: string): Promise<{ name: string; offset: number; size: number }[]> {
  const bytes = await readFile(path);
  const entries: { name: string; offset: number; size: number }[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= bytes.length) {
    const header = bytes.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const data = at + 512;
    if (type === 'L')
      longName = bytes
        .subarray(data, data + size)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    else if (type === '0') entries.push({ name, offset: data, size });
    at = data + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** Flips a few bytes in the middle of a file region. */
async function flipBytes(path: string, offset: number, count = 16): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const buffer = Buffer.alloc(count);
    await handle.read(buffer, 0, count, offset);
    for (let i = 0; i < count; i++) buffer[i] = (buffer[i] as number) ^ 0xff;
    await handle.write(buffer, 0, count, offset);
  } finally {
    await handle.close();
  }
}

describe('bad input: one clear line, a non-zero exit, nothing tagged', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let readonly: Distribution | undefined;
  let denying: Server | undefined;
  const denied: { method: string; url: string }[] = [];
  let berthReg: TestRegistry;
  let readonlyReg: TestRegistry;
  let denyingHost: string;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let archive: string;
  let counter = 0;

  const freshEnv = (): Promise<BerthEnv> => berthEnv(join(work, 'berth', `env-${++counter}`));
  const dest = (repo: string): string => `docker://${berthReg.hostPort}/${repo}:v1`;
  /** `berth push --quiet SRC DEST`: with progress off, stderr holds nothing but the error. */
  const push = async (source: string, destination: string, extra: string[] = []): Promise<CliResult> =>
    berth(await freshEnv(), ['push', '--quiet', ...extra, source, destination]);
  const quote = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-bad-');
    [server, readonly] = await Promise.all([
      startTestServer({ data: join(work, 'berth-data') }),
      startDistribution({ dir: join(work, 'readonly'), readonly: true }),
    ]);
    berthReg = { name: 'berth', hostPort: server.hostPort, url: server.url };
    readonlyReg = { name: 'distribution-readonly', hostPort: readonly.hostPort, url: readonly.url };
    // A registry that lets anyone in and then answers 403 DENIED, as registries do to a user without rights:
    // under `pull-only/` reads find nothing (404) and writes are denied; elsewhere everything is denied.
    denying = createServer((req: IncomingMessage, res) => {
      denied.push({ method: req.method ?? '', url: req.url ?? '' });
      req.resume();
      res.setHeader('docker-distribution-api-version', 'registry/2.0');
      if (req.url === '/v2/' || req.url === '/v2') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const read = req.method === 'GET' || req.method === 'HEAD';
      const [status, code, message] =
        read && req.url?.startsWith('/v2/pull-only/')
          ? [404, 'BLOB_UNKNOWN', 'blob unknown to registry']
          : [403, 'DENIED', 'requested access to the resource is denied'];
      const body = JSON.stringify({ errors: [{ code, message }] });
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    denying.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => denying?.once('listening', resolve));
    denyingHost = `127.0.0.1:${(denying.address() as AddressInfo).port}`;

    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    ({ layout, v1 } = await buildTestLayout(client, join(work, 'umoci')));
    archive = join(work, 'good.docker.tar');
    await skopeo(client, ['copy', `oci:${layout}:v1`, `docker-archive:${archive}:team/app:v1`]);
  });

  after(async () => {
    await new Promise<void>((resolve) => (denying ? denying.close(() => resolve()) : resolve()));
    await Promise.all([server?.close(), readonly?.stop()]);
    for (const fn of cleanups.reverse()) await fn();
  });

  test('the good archive pushes (so the failures below are caused by the damage alone)', async () => {
    const r = await push(`docker-archive:${archive}`, dest('bad/control'));
    assert.equal(r.code, 0, describeRun(r));
  });

  test('a truncated docker-archive', async () => {
    const cut = join(work, 'truncated.tar');
    await cp(archive, cut);
    const { size } = await stat(cut);
    await truncate(cut, Math.floor(size / 2));
    const r = await push(`docker-archive:${cut}`, dest('bad/truncated'));
    assertOneLineFailure(r, new RegExp(quote(cut)), /truncat|unexpected end|incomplete|ended/i);
    await assertNotTagged(berthReg, 'bad/truncated', 'v1');
  });

  test('a docker-archive with bytes flipped inside a layer', async () => {
    const corrupt = join(work, 'corrupt.tar');
    await cp(archive, corrupt);
    const layers = (await tarEntries(corrupt)).filter((e) => e.size > 100 * 1024);
    assert.ok(layers[0], `no large layer in ${JSON.stringify(await tarEntries(corrupt))}`);
    await flipBytes(corrupt, layers[0].offset + Math.floor(layers[0].size / 2));
    const r = await push(`docker-archive:${corrupt}`, dest('bad/corrupt'));
    assertOneLineFailure(r, new RegExp(quote(corrupt)), /digest|corrupt|does not match|checksum/i);
    await assertNotTagged(berthReg, 'bad/corrupt', 'v1');
  });

  test('the same corrupt archive with progress lines on: still exactly one error line, and it comes last', async () => {
    const corrupt = join(work, 'corrupt.tar');
    const r = await berth(await freshEnv(), [
      'push',
      `docker-archive:${corrupt}`,
      dest('bad/corrupt-progress'),
    ]);
    assert.ok(r.code !== 0, describeRun(r));
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.startsWith('berth: ')).length, 1, describeRun(r));
    assert.match(lines.at(-1) ?? '', /^berth: /, describeRun(r));
    await assertNotTagged(berthReg, 'bad/corrupt-progress', 'v1');
  });

  test('an OCI layout whose layer does not match its digest', async () => {
    const copy = join(work, 'corrupt-layout');
    await cp(layout, copy, { recursive: true });
    const big = v1.layers.reduce((a, b) => (b.size > a.size ? b : a));
    await flipBytes(blobPath(copy, big.digest), Math.floor(big.size / 2));
    const r = await push(`oci:${copy}:v1`, dest('bad/oci-corrupt'));
    assertOneLineFailure(r, new RegExp(quote(copy)), /digest|corrupt|does not match/i);
    await assertNotTagged(berthReg, 'bad/oci-corrupt', 'v1');
  });

  test('a docker-archive missing a layer file', async () => {
    const missing = join(work, 'missing-layer.tar');
    await cp(archive, missing);
    const layer = (await tarEntries(missing)).find((e) => e.size > 100 * 1024);
    assert.ok(layer, 'no layer to delete');
    await run(client, 'tar', ['--delete', '-f', missing, layer.name]);
    assert.ok(!(await tarEntries(missing)).some((e) => e.name === layer.name));
    const r = await push(`docker-archive:${missing}`, dest('bad/missing'));
    assertOneLineFailure(
      r,
      new RegExp(quote(missing)),
      /missing|not found|no such|does not hold|no .*layer/i,
    );
    await assertNotTagged(berthReg, 'bad/missing', 'v1');
  });

  test('an OCI layout missing a layer blob', async () => {
    const copy = join(work, 'missing-blob-layout');
    await cp(layout, copy, { recursive: true });
    await rm(blobPath(copy, (v1.layers[0] as { digest: string }).digest));
    const r = await push(`oci:${copy}:v1`, dest('bad/oci-missing'));
    assertOneLineFailure(r, new RegExp(quote(copy)), /missing|not found|no such|no blob/i);
    await assertNotTagged(berthReg, 'bad/oci-missing', 'v1');
  });

  test('an unknown transport', async () => {
    const r = await push('foo:bar', dest('bad/transport'));
    assertOneLineFailure(r, /foo:bar/, /unknown transport/i);
    await assertNotTagged(berthReg, 'bad/transport', 'v1');
  });

  test('an unreachable registry (a closed port), as destination and as source', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await push(`oci:${layout}:v1`, `docker://127.0.0.1:${port}/bad/unreachable:v1`);
    assertOneLineFailure(r, new RegExp(`127\\.0\\.0\\.1:${port}`), /cannot reach|refused|unreachable/i);
    assert.ok(Date.now() - started < 60_000, 'gives up in reasonable time');
    const out = join(work, 'from-unreachable');
    const s = await push(`docker://127.0.0.1:${port}/bad/unreachable:v1`, `oci:${out}:v1`);
    assertOneLineFailure(
      s,
      new RegExp(`127\\.0\\.0\\.1:${port}/bad/unreachable`),
      /cannot reach|refused|unreachable/i,
    );
    const index = await readFile(join(out, 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
    assert.deepEqual(JSON.parse(index).manifests, [], 'nothing tagged in the layout');
  });

  test('a registry in read-only mode (Distribution maintenance.readonly: 405 on writes)', async () => {
    const r = await push(`oci:${layout}:v1`, `docker://${readonlyReg.hostPort}/bad/readonly:v1`);
    assertOneLineFailure(r, /bad\/readonly/, /405|read-only|read only|UNSUPPORTED|not allowed/i);
    await assertNotTagged(readonlyReg, 'bad/readonly', 'v1');
  });

  test('a registry that denies pushing (403 DENIED on the upload)', async () => {
    denied.length = 0;
    const r = await push(`oci:${layout}:v1`, `docker://${denyingHost}/pull-only/app:v1`);
    assertOneLineFailure(r, /pull-only\/app/, /push to pull-only\/app is not allowed/);
    assert.ok(
      denied.some((q) => q.method === 'POST'),
      'the upload was tried',
    );
    assert.ok(
      !denied.some((q) => q.method === 'PUT' && q.url.includes('/manifests/')),
      JSON.stringify(denied),
    );
  });

  test('a registry that denies everything (403 DENIED already on HEAD)', async () => {
    denied.length = 0;
    const r = await push(`oci:${layout}:v1`, `docker://${denyingHost}/bad/denied:v1`);
    assertOneLineFailure(r, /bad\/denied/, /403|denied|permission/i);
    assert.ok(
      !denied.some((q) => q.method === 'PUT' && q.url.includes('/manifests/')),
      JSON.stringify(denied),
    );
  });

  test('a destination that is only a digest, and a source tag that does not exist', async () => {
    const r = await push(`oci:${layout}:v1`, `docker://${berthReg.hostPort}/bad/digest@${v1.digest}`);
    assertOneLineFailure(r, /bad\/digest/, /needs a tag/);
    const s = await push(`oci:${layout}:nope`, dest('bad/notag'));
    assertOneLineFailure(s, new RegExp(quote(layout)), /nope/);
    await assertNotTagged(berthReg, 'bad/notag', 'v1');
  });
});

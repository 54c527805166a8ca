// Resume: a 200 MiB layer pushed to Berth, the push killed (SIGKILL, then Ctrl-C) half way, the same command
// run again. A counting proxy between the CLI and Berth measures what crossed the wire: a resumed push sends
// about the missing half, a restarted one the whole layer again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningServer } from '../../src/main/server.js';
import { type ClientEnv, makeClientEnv, requireTools } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import {
  assertOneLineFailure,
  type BerthEnv,
  berthEnv,
  bigLayout,
  countingProxy,
  describeRun,
  folderSizes,
  getManifest,
  MiB,
  pushJson,
  spawnBerth,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const gate = await requireTools('skopeo');

const PAYLOAD = 200 * MiB;
const CHUNK = '8MiB';

describe('an interrupted push resumes', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let registry: TestRegistry;
  let client: ClientEnv;
  let image: Awaited<ReturnType<typeof bigLayout>>;
  let uploads: string;

  /** Bytes in Berth's unfinished upload sessions. */
  const uploadedSoFar = async (): Promise<number> => {
    let total = 0;
    for (const [path, size] of await folderSizes(uploads)) if (path.endsWith('/data')) total += size;
    return total;
  };

  /**
   * Asks Berth for the status of each unfinished upload of `repo`: it answers only once a request the kill
   * cut has been given up and its bytes flushed, so what the sessions hold is final after this.
   */
  const settleUploads = async (repo: string): Promise<void> => {
    for (const [path] of await folderSizes(uploads)) {
      if (!path.endsWith('/data')) continue;
      const res = await fetch(`${server?.url}/v2/${repo}/blobs/uploads/${basename(dirname(path))}`);
      await res.arrayBuffer();
    }
  };

  /**
   * Starts `berth push`, waits until Berth holds at least `fraction` of the layer in an upload session, then
   * sends `signal`; returns how the child ended and how much the upload session held.
   */
  const interrupt = async (be: BerthEnv, repo: string, signal: NodeJS.Signals, extra: string[] = []) => {
    const run = spawnBerth(be, [
      'push',
      ...extra,
      '--chunk-size',
      CHUNK,
      image.location,
      `docker://${proxy?.hostPort}/${repo}:v1`,
    ]);
    const deadline = Date.now() + 120_000;
    let held = 0;
    while (Date.now() < deadline && run.child.exitCode === null) {
      held = await uploadedSoFar();
      if (held >= image.layerSize / 2) break;
      await sleep(10);
    }
    run.child.kill(signal);
    const result = await run.done;
    await settleUploads(repo);
    return { result, held: await uploadedSoFar(), sent: proxy?.take() ?? 0 };
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-resume-');
    const data = join(work, 'berth-data');
    server = await startTestServer({ data });
    uploads = join(data, 'storage', 'uploads');
    const [host, port] = server.hostPort.split(':') as [string, string];
    proxy = await countingProxy({ host, port: Number(port) });
    registry = { name: 'berth', hostPort: proxy.hostPort, url: `http://${proxy.hostPort}` };
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    image = await bigLayout(join(work, 'layout'), PAYLOAD);
  });

  after(async () => {
    await proxy?.close();
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('killed with SIGKILL half way, the same command continues the upload instead of restarting it', async (t) => {
    const be = await berthEnv(join(work, 'berth-kill'));
    proxy?.take();
    const first = await interrupt(be, 'resume/kill', 'SIGKILL');
    assert.equal(
      first.result.signal,
      'SIGKILL',
      `the push ended before it was killed:\n${describeRun(first.result)}`,
    );
    assert.ok(
      first.held >= image.layerSize * 0.3 && first.held < image.layerSize,
      `precondition: Berth holds part of the layer (${first.held} of ${image.layerSize} bytes)`,
    );
    assert.equal((await getManifest(registry, 'resume/kill', 'v1')).status, 404, 'nothing tagged yet');

    const second = await pushJson(be, image.location, `docker://${registry.hostPort}/resume/kill:v1`, [
      '--chunk-size',
      CHUNK,
    ]);
    const sent = proxy?.take() ?? 0;
    assert.equal(second.digest, image.expected.manifestDigest);
    const missing = image.layerSize - first.held;
    t.diagnostic(
      `layer ${image.layerSize} B; killed holding ${first.held} B after sending ${first.sent} B; the rerun sent ${sent} B`,
    );
    // The rest of the layer, plus at most two chunks of slack (a chunk cut by the kill; protocol overhead).
    assert.ok(
      sent < missing + 2 * 8 * MiB,
      `the second run sent ${sent} bytes; ${missing} were missing (${first.held} of ${image.layerSize} were held): it restarted`,
    );
    assert.ok(
      first.sent + sent < image.layerSize * 1.25,
      `in all ${first.sent + sent} bytes for a ${image.layerSize}-byte layer`,
    );
    assert.equal(await uploadedSoFar(), 0, 'the upload session was committed, not left behind');
    await verifyWithSkopeo(
      client,
      { ...registry, hostPort: server?.hostPort ?? '' },
      'resume/kill:v1',
      second,
      image.expected,
      work,
    );
  });

  test('Ctrl-C (SIGINT): a non-zero exit with one line saying how to resume; the rerun continues', async (t) => {
    const be = await berthEnv(join(work, 'berth-int'));
    proxy?.take();
    const first = await interrupt(be, 'resume/int', 'SIGINT', ['--quiet']);
    assert.ok(first.held < image.layerSize, 'precondition: interrupted before the layer was complete');
    assertOneLineFailure(first.result, /resume\/int/, /interrupted/, /again/);
    assert.equal((await getManifest(registry, 'resume/int', 'v1')).status, 404, 'nothing tagged');

    const second = await pushJson(be, image.location, `docker://${registry.hostPort}/resume/int:v1`, [
      '--chunk-size',
      CHUNK,
    ]);
    const sent = proxy?.take() ?? 0;
    assert.equal(second.digest, image.expected.manifestDigest);
    const missing = image.layerSize - first.held;
    t.diagnostic(
      `layer ${image.layerSize} B; interrupted holding ${first.held} B after sending ${first.sent} B; the rerun sent ${sent} B`,
    );
    assert.ok(
      sent < missing + 2 * 8 * MiB,
      `the rerun sent ${sent} bytes; ${missing} were missing (${first.held} held): it restarted`,
    );
    const got = await getManifest(registry, 'resume/int', 'v1');
    assert.equal(got.digest, image.expected.manifestDigest);
    // The layer as Berth serves it hashes to its digest (streamed, not buffered).
    const res = await fetch(`${registry.url}/v2/resume/int/blobs/${image.expected.diffIds[0]}`);
    const hash = createHash('sha256');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    assert.equal(`sha256:${hash.digest('hex')}`, image.expected.diffIds[0]);
    assert.equal(await uploadedSoFar(), 0);
  });
});

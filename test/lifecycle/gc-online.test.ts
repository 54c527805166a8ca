// Online garbage collection end to end: pushes of overlapping images, tag deletes and GC runs at once against a
// real Berth, for a bounded number of rounds; afterwards every tag pulls back intact with skopeo and no blob
// that nothing references, older than the grace period, is left on disk.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import { type ClientEnv, makeClientEnv, requireTools, runRaw } from '../support/containers.js';
import { type Blob, blobOf, makeImage, type TestImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo');
const HOUR = 3_600_000;
const ROUNDS = 8;
const PUSHES_PER_ROUND = 4;

/** An image whose layers come from a small shared pool, so images overlap, plus one layer of its own. */
function overlappingImage(pool: Blob[], round: number, i: number): TestImage {
  const base = makeImage({ layers: [512] });
  const shared = [pool[(round + i) % pool.length], pool[(round * 3 + i + 1) % pool.length]] as Blob[];
  const layers = [...new Map([...shared, ...base.layers].map((b) => [b.digest, b])).values()];
  const config = blobOf(
    JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }),
  );
  const manifest = blobOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: base.mediaType,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.bytes.length,
      })),
    }),
  );
  return { config, layers, manifest, mediaType: base.mediaType };
}

async function blobFilesOnDisk(root: string): Promise<string[]> {
  const found: string[] = [];
  const dir = join(root, 'blobs', 'sha256');
  for (const prefix of await readdir(dir).catch(() => [] as string[])) {
    for (const name of await readdir(join(dir, prefix))) found.push(`sha256:${name}`);
  }
  return found;
}

describe('online garbage collection under pushes, deletes and pulls', { skip: gate.skip }, () => {
  const scope = fileScope();
  let work: string;
  let server: RunningServer;
  let client: ClientEnv;
  const clock = new ManualClock(Date.now());

  before(async () => {
    work = await tempDir(scope, 'berth-gc-online-');
    server = await startTestServer({ data: join(work, 'data'), clock });
    client = await makeClientEnv(join(work, 'client'), server.hostPort);
  });
  after(() => server?.close());

  test(`${ROUNDS} rounds of pushes, tag deletes and GC runs at once; every tag pulls back intact`, async () => {
    const registry = new TestClient(server.url);
    const pool = Array.from({ length: 6 }, () => blobOf(randomBytes(2048)));
    const live = new Map<string, { repo: string; tag: string; image: TestImage }>();
    let runs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const pushes = Array.from({ length: PUSHES_PER_ROUND }, async (_, i) => {
        const repo = i % 2 === 0 ? 'gc/a' : 'gc/b';
        const tag = `r${round}-${i}`;
        const image = overlappingImage(pool, round, i);
        await registry.pushImage(repo, tag, image);
        live.set(`${repo}:${tag}`, { repo, tag, image });
      });
      // Delete about half of what earlier rounds pushed: their layers lose their references.
      const doomed = [...live.values()].filter((_, k) => (k + round) % 2 === 0).slice(0, 3);
      const deletes = doomed.map(async ({ repo, tag, image }) => {
        live.delete(`${repo}:${tag}`);
        const res = await registry.request('DELETE', `/v2/${repo}/manifests/${image.manifest.digest}`);
        assert.equal(res.status, 202, await res.text());
      });
      const collect = (async () => {
        const run = await server.gc.start({
          dryRun: false,
          untagged: false,
          graceMs: HOUR,
          trigger: 'manual',
        });
        await server.gc.settled();
        const done = await server.gc.run(run.id);
        assert.equal(done?.status, 'succeeded', done?.error);
        runs += 1;
      })();
      await Promise.all([...pushes, ...deletes, collect]);
      // Between rounds, with nothing in flight: what was orphaned this round ages past the grace period.
      clock.advance(2 * HOUR);
    }
    assert.equal(runs, ROUNDS);
    const last = await server.gc.start({ dryRun: false, untagged: false, graceMs: HOUR, trigger: 'manual' });
    await server.gc.settled();
    assert.equal((await server.gc.run(last.id))?.status, 'succeeded');

    // Every live tag pulls back with skopeo, each blob checked against its digest by skopeo and here.
    await mkdir(join(work, 'pulled'), { recursive: true });
    for (const { repo, tag, image } of live.values()) {
      const dest = join(work, 'pulled', `${repo.replace('/', '-')}-${tag}`);
      await runRaw(client, 'skopeo', [
        '--policy',
        client.policy,
        'copy',
        // The layers are random bytes, not gzip: without this skopeo compresses them on the way.
        '--preserve-digests',
        '--src-tls-verify=false',
        `docker://${server.hostPort}/${repo}:${tag}`,
        `oci:${dest}:${tag}`,
      ]);
      for (const blob of [image.config, ...image.layers]) {
        const bytes = await readFile(join(dest, 'blobs', 'sha256', blob.digest.slice('sha256:'.length)));
        assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, blob.digest);
      }
    }

    // On disk: exactly the blobs the live images reference (everything else is older than the grace period).
    const referenced = new Set<string>();
    for (const { image } of live.values())
      for (const b of [image.config, ...image.layers]) referenced.add(b.digest);
    const onDisk = await blobFilesOnDisk(join(work, 'data', 'storage'));
    const unreferenced = onDisk.filter((d) => !referenced.has(d));
    assert.deepEqual(unreferenced, [], 'unreferenced blobs older than the grace period left on disk');
    for (const digest of referenced) assert.ok(onDisk.includes(digest), `${digest} missing on disk`);
  });
});

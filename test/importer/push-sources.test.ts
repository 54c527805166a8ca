// `berth push` from every kind of local source (OCI layouts by umoci and buildah, docker-archives by skopeo
// and podman save, an oci-archive) into Berth and into CNCF Distribution, each pulled back with skopeo and
// checked blob by blob; then re-pushes (nothing uploaded) and pushes to a second repository (mounted).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { type ClientEnv, makeClientEnv, run, skopeo } from '../support/containers.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  actions,
  type BerthEnv,
  berthEnv,
  buildahImage,
  countingProxy,
  type ExpectedImage,
  type PushReport,
  pushJson,
  readDockerArchive,
  readLayoutExpectation,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const gate = await requireDistribution('skopeo', 'umoci', 'buildah', 'podman', 'tar');

interface Source {
  name: string;
  location: string;
  expected: ExpectedImage;
}

describe('berth push from local sources into Berth and Distribution', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let distribution: Distribution | undefined;
  let client: ClientEnv;
  let registries: TestRegistry[] = [];
  const sources = new Map<string, Source>();
  /** The environment (cache) and report of each first push, keyed `source registry`, for the re-push tests. */
  const firstPushes = new Map<string, { env: BerthEnv; report: PushReport; repo: string }>();

  const envFor = async (name: string): Promise<BerthEnv> =>
    berthEnv(join(work, 'berth', `${name}-${Date.now()}`));
  const source = (name: string): Source => {
    const s = sources.get(name);
    assert.ok(s, `source ${name} was not built`);
    return s;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-push-');
    [server, distribution] = await Promise.all([
      startTestServer({ data: join(work, 'berth-data') }),
      startDistribution({ dir: join(work, 'distribution') }),
    ]);
    registries = [
      { name: 'berth', hostPort: server.hostPort, url: server.url },
      { name: 'distribution', hostPort: distribution.hostPort, url: distribution.url },
    ];
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);

    // umoci: two gzip layers (text, then random bytes), amd64, a label.
    const { layout } = await buildTestLayout(client, join(work, 'umoci'));
    sources.set('umoci', {
      name: 'umoci',
      location: `oci:${layout}:v1`,
      expected: await readLayoutExpectation(layout, 'v1'),
    });
    // buildah: an image from scratch pushed to an OCI layout (gzip layers).
    const built = await buildahImage(client, work, 'app', { labels: { built: 'buildah' } });
    sources.set('buildah', {
      name: 'buildah',
      location: `oci:${built.layout}:v1`,
      expected: await readLayoutExpectation(built.layout, 'v1'),
    });
    // skopeo copy … docker-archive: (uncompressed layers, Docker schema 2).
    const skopeoTar = join(work, 'skopeo-docker-archive.tar');
    await skopeo(client, ['copy', `oci:${layout}:v1`, `docker-archive:${skopeoTar}:team/app:v1`]);
    sources.set('skopeo-docker-archive', {
      name: 'skopeo-docker-archive',
      location: `docker-archive:${skopeoTar}`,
      expected: await readDockerArchive(client, skopeoTar),
    });
    // podman save (docker-archive) of the buildah image: podman reads buildah's storage.
    const podmanTar = join(work, 'podman-save.tar');
    await run(client, 'podman', ['save', '--format', 'docker-archive', '-o', podmanTar, built.image]);
    sources.set('podman-save', {
      name: 'podman-save',
      location: `docker-archive:${podmanTar}`,
      expected: await readDockerArchive(client, podmanTar),
    });
    // An oci-archive of the buildah layout, written by skopeo (gzip layers kept as they are).
    const ociTar = join(work, 'image.oci.tar');
    await skopeo(client, ['copy', `oci:${built.layout}:v1`, `oci-archive:${ociTar}:v1`]);
    sources.set('oci-archive', {
      name: 'oci-archive',
      location: `oci-archive:${ociTar}:v1`,
      expected: await readLayoutExpectation(built.layout, 'v1'),
    });
  });

  after(async () => {
    await Promise.all([server?.close(), distribution?.stop()]);
    for (const fn of cleanups.reverse()) await fn();
  });

  const pushAndVerify = async (name: string): Promise<void> => {
    const src = source(name);
    await Promise.all(
      registries.map(async (registry) => {
        const env = await envFor(`${name}-${registry.name}`);
        const repo = `push/${name}`;
        const report = await pushJson(env, src.location, `docker://${registry.hostPort}/${repo}:v1`);
        // A fresh repository and an empty cache: every blob goes up.
        assert.deepEqual(actions(report), ['uploaded'], `${registry.name}: ${JSON.stringify(report.blobs)}`);
        assert.ok(report.uploadedBytes > 0);
        assert.equal(report.blobs.length, src.expected.diffIds.length + 1, 'config and every layer');
        const pulled = await verifyWithSkopeo(client, registry, `${repo}:v1`, report, src.expected, work);
        if (src.location.startsWith('docker-archive:')) {
          // `docker save` layers are plain tars; the text layer of each image compresses well, so the default
          // compression (auto) must have gzipped it.
          assert.ok(
            pulled.manifest.layers.some((l) => /gzip/.test(l.mediaType)),
            `${registry.name}: no layer was compressed: ${pulled.manifestBytes.toString()}`,
          );
        }
        firstPushes.set(`${name} ${registry.name}`, { env, report, repo });
      }),
    );
  };

  test('an OCI layout made by umoci: pushed as it is (same manifest digest), content verified', () =>
    pushAndVerify('umoci'));

  test('an OCI layout made by buildah push oci: pushed as it is, content verified', () =>
    pushAndVerify('buildah'));

  test('a docker-archive made by skopeo copy: layers compressed, config and diff_ids preserved', () =>
    pushAndVerify('skopeo-docker-archive'));

  test('a docker-archive made by podman save: layers compressed, config and diff_ids preserved', () =>
    pushAndVerify('podman-save'));

  test('an oci-archive made by skopeo copy: pushed as it is, content verified', () =>
    pushAndVerify('oci-archive'));

  for (const name of ['umoci', 'skopeo-docker-archive']) {
    test(`re-push of ${name}: nothing uploaded, every blob exists, same digest`, async () => {
      const src = source(name);
      await Promise.all(
        registries.map(async (registry) => {
          const first = firstPushes.get(`${name} ${registry.name}`);
          assert.ok(first, 'the first push did not run');
          const again = await pushJson(
            first.env,
            src.location,
            `docker://${registry.hostPort}/${first.repo}:v1`,
          );
          assert.equal(again.digest, first.report.digest, 'a re-push gives the same manifest');
          assert.equal(again.uploadedBytes, 0, JSON.stringify(again.blobs));
          assert.deepEqual(actions(again), ['exists'], JSON.stringify(again.blobs));
          assert.equal(again.blobs.length, first.report.blobs.length);
        }),
      );
    });

    test(`push of ${name} to a second repository: blobs mounted, nothing uploaded, complete`, async () => {
      const src = source(name);
      await Promise.all(
        registries.map(async (registry) => {
          const first = firstPushes.get(`${name} ${registry.name}`);
          assert.ok(first, 'the first push did not run');
          const repo = `${first.repo}-copy`;
          const second = await pushJson(first.env, src.location, `docker://${registry.hostPort}/${repo}:v1`);
          assert.equal(second.digest, first.report.digest);
          assert.equal(second.uploadedBytes, 0, JSON.stringify(second.blobs));
          for (const blob of second.blobs) {
            assert.ok(
              ['mounted', 'exists'].includes(blob.action),
              `${registry.name}: ${JSON.stringify(second.blobs)}`,
            );
          }
          // Both registries scope blobs to repositories: a blob of another repository is not "there" until mounted.
          assert.ok(
            second.blobs.some((b) => b.action === 'mounted'),
            `${registry.name}: expected cross-repository mounts: ${JSON.stringify(second.blobs)}`,
          );
          await verifyWithSkopeo(client, registry, `${repo}:v1`, second, src.expected, work);
        }),
      );
    });
  }

  // Small blobs go up in one `POST ?digest=` request. Distribution does not implement that: it answers 202
  // with an upload session, having dropped the body; a client that then uploads again has sent it twice.
  test('each blob crosses the wire once: bytes sent stay near the size of the blobs', async (t) => {
    const src = source('umoci');
    const blobBytes = (report: PushReport): number => report.blobs.reduce((sum, b) => sum + b.size, 0);
    await Promise.all(
      registries.map(async (registry) => {
        const [host, port] = registry.hostPort.split(':') as [string, string];
        const proxy = await countingProxy({ host, port: Number(port) });
        try {
          const report = await pushJson(
            await envFor(`wire-${registry.name}`),
            src.location,
            `docker://${proxy.hostPort}/push/wire:v1`,
          );
          const sent = proxy.take();
          t.diagnostic(`${registry.name}: ${sent} bytes sent for ${blobBytes(report)} bytes of blobs`);
          assert.deepEqual(actions(report), ['uploaded']);
          // Requests and headers cost a few KiB; a second copy of the blobs would double the count.
          assert.ok(
            sent < blobBytes(report) * 1.1 + 32 * 1024,
            `${registry.name}: ${sent} bytes sent for ${blobBytes(report)} bytes of blobs`,
          );
        } finally {
          await proxy.close();
        }
      }),
    );
  });

  test('a docker-archive pushed again with an empty cache: gzip is deterministic, the layers are found in place', async () => {
    const src = source('skopeo-docker-archive');
    const registry = registries[1] as TestRegistry;
    const first = firstPushes.get(`skopeo-docker-archive ${registry.name}`);
    assert.ok(first, 'the first push did not run');
    const fresh = await envFor('fresh-cache');
    const again = await pushJson(fresh, src.location, `docker://${registry.hostPort}/${first.repo}:v1`);
    assert.equal(again.digest, first.report.digest);
    assert.equal(again.uploadedBytes, 0, JSON.stringify(again.blobs));
  });
});

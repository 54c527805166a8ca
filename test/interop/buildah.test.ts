// buildah (vfs storage, images from scratch, manifest lists) against a real Berth on a loopback port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  type ClientEnv,
  fetchManifest,
  headStatus,
  type ImageIndex,
  type ImageManifest,
  inspectRaw,
  makeClientEnv,
  readDigestFile,
  requireTools,
  run,
  sha256,
  skopeo,
  writeRootfs,
} from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

const gate = await requireTools('buildah', 'skopeo');

const ARCHES = ['amd64', 'arm64'] as const;

interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Labels?: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

describe('buildah against Berth', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let server: RunningServer | undefined;
  let client: ClientEnv;
  let work: string;

  const registry = (): RunningServer => {
    assert.ok(server, 'the server did not start');
    return server;
  };
  const remote = (reference: string): string => `docker://${client.registry}/${reference}`;
  const buildah = (args: string[]) => run(client, 'buildah', args);

  /** Fetches a blob from Berth and checks its bytes against its digest. */
  const fetchBlob = async (repo: string, digest: string): Promise<Buffer> => {
    const res = await fetch(`${registry().url}/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 200, `GET blob ${digest} in ${repo}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), digest);
    return bytes;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-buildah-');
    server = await startTestServer({ data: join(work, 'data') });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);

    for (const arch of ARCHES) {
      const rootfs = join(work, `rootfs-${arch}`);
      await writeRootfs(rootfs, {
        'etc/arch': `${arch}\n`,
        'opt/app/payload.bin': randomBytes(512 * 1024),
      });
      const container = `berth-${arch}`;
      await buildah(['from', '--name', container, 'scratch']);
      await buildah(['copy', container, rootfs, '/']);
      await buildah([
        'config',
        '--arch',
        arch,
        '--os',
        'linux',
        '--label',
        'k=v',
        '--label',
        `arch=${arch}`,
        container,
      ]);
      await buildah(['commit', '--format', 'oci', container, `localhost/berth-x:${arch}`]);
      await buildah(['rm', container]);
    }
  });

  after(async () => {
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('buildah push of an image built from scratch; Berth serves its manifest, config and layer', async () => {
    const digestFile = join(work, 'arm64.digest');
    await buildah([
      'push',
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      'localhost/berth-x:arm64',
      remote('bud/x:arm64'),
    ]);
    const pushed = await readDigestFile(digestFile);

    const raw = await inspectRaw(client, 'bud/x:arm64');
    assert.equal(raw.digest, pushed);
    const { stdout } = await skopeo(client, ['inspect', '--tls-verify=false', remote('bud/x:arm64')]);
    const inspected = JSON.parse(stdout) as {
      Digest: string;
      Architecture: string;
      Os: string;
      Labels: Record<string, string>;
    };
    assert.equal(inspected.Digest, pushed);
    assert.equal(inspected.Architecture, 'arm64');
    assert.equal(inspected.Os, 'linux');
    assert.equal(inspected.Labels.k, 'v');

    const fetched = await fetchManifest(registry().url, 'bud/x', 'arm64');
    assert.equal(fetched.status, 200);
    assert.equal(fetched.digest, pushed);
    assert.equal(fetched.dockerContentDigest, pushed);
    assert.equal(fetched.contentType?.split(';')[0], MediaType.ociManifest);
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
    const config = JSON.parse(
      (await fetchBlob('bud/x', manifest.config.digest)).toString('utf8'),
    ) as ImageConfig;
    assert.equal(config.architecture, 'arm64');
    assert.equal(config.config?.Labels?.arch, 'arm64');
    assert.equal(manifest.layers.length, 1);
    for (const layer of manifest.layers) await fetchBlob('bud/x', layer.digest);

    // The image in local storage is the one on Berth: same config (image ID).
    const { stdout: id } = await buildah([
      'inspect',
      '--format',
      '{{.FromImageID}}',
      '--type',
      'image',
      'localhost/berth-x:arm64',
    ]);
    assert.equal(`sha256:${id.trim()}`, manifest.config.digest);
  });

  for (const format of [
    { flag: 'oci', list: MediaType.ociIndex, child: MediaType.ociManifest, tag: 'oci' },
    { flag: 'v2s2', list: MediaType.dockerManifestList, child: MediaType.dockerManifest, tag: 'v2s2' },
  ] as const) {
    test(`buildah manifest push --all --format ${format.flag} of a two-platform list`, async () => {
      const list = `localhost/berth-list-${format.tag}`;
      await buildah(['manifest', 'create', list]);
      for (const arch of ARCHES) {
        await buildah(['manifest', 'add', list, `containers-storage:localhost/berth-x:${arch}`]);
      }
      const digestFile = join(work, `list-${format.tag}.digest`);
      // --tls-verify=false is needed: buildah 1.28 manifest push ignores CONTAINERS_REGISTRIES_CONF's insecure entry.
      await buildah([
        'manifest',
        'push',
        '--all',
        '--tls-verify=false',
        '--format',
        format.flag,
        '--digestfile',
        digestFile,
        list,
        remote(`bud/list:${format.tag}`),
      ]);
      const pushed = await readDigestFile(digestFile);

      const fetched = await fetchManifest(registry().url, 'bud/list', format.tag);
      assert.equal(fetched.status, 200, `GET manifest bud/list:${format.tag}`);
      assert.equal(fetched.digest, pushed);
      assert.equal(fetched.dockerContentDigest, pushed);
      assert.equal(fetched.contentType?.split(';')[0], format.list);
      assert.equal((await inspectRaw(client, `bud/list:${format.tag}`)).digest, pushed);
      const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
      assert.equal(index.mediaType, format.list);
      assert.deepEqual(index.manifests.map((m) => m.platform?.architecture).sort(), [...ARCHES]);

      for (const child of index.manifests) {
        assert.equal(child.mediaType, format.child);
        assert.equal(
          await headStatus(registry().url, `bud/list/manifests/${child.digest}`),
          200,
          child.digest,
        );
        const got = await fetchManifest(registry().url, 'bud/list', child.digest);
        assert.equal(got.status, 200);
        assert.equal(got.digest, child.digest);
        assert.equal(got.bytes.length, child.size);
        assert.equal(got.contentType?.split(';')[0], format.child);
        const manifest = JSON.parse(got.bytes.toString('utf8')) as ImageManifest;
        for (const blob of [manifest.config, ...manifest.layers]) {
          assert.equal(await headStatus(registry().url, `bud/list/blobs/${blob.digest}`), 200, blob.digest);
        }
        const config = JSON.parse(
          (await fetchBlob('bud/list', manifest.config.digest)).toString('utf8'),
        ) as ImageConfig;
        assert.equal(config.architecture, child.platform?.architecture);
        assert.equal(config.os, 'linux');
        assert.equal(config.config?.Labels?.k, 'v');
      }
    });
  }

  test('skopeo copy --all from Berth of the list buildah pushed keeps every digest', async () => {
    const { stdout } = await skopeo(client, [
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--digestfile',
      join(work, 'recopy.digest'),
      remote('bud/list:v2s2'),
      remote('bud/copied:v2s2'),
    ]);
    assert.match(stdout, /Writing manifest list/);
    const original = await fetchManifest(registry().url, 'bud/list', 'v2s2');
    assert.equal(await readDigestFile(join(work, 'recopy.digest')), original.digest);
    const copied = await fetchManifest(registry().url, 'bud/copied', 'v2s2');
    assert.equal(copied.digest, original.digest);
  });
});

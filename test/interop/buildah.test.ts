// buildah (vfs storage, images from scratch, manifest lists) against a real Berth on a loopback port: the shared
// scenarios (push, pull, mount, copy --all of the lists buildah pushes).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MediaType } from '../../src/oci/media-types.js';
import {
  type ClientEnv,
  type ImageManifest,
  inspectRaw,
  readDigestFile,
  requireTools,
  run,
  sha256,
  skopeo,
  writeRootfs,
} from '../support/containers.js';
import { useBerth } from './scenarios/berth-under-test.js';
import { expectCopyAllKeepsDigests, expectPushedIndex } from './scenarios/copy-all.js';
import { expectMountedOnPush } from './scenarios/mount.js';
import { expectPulledBack } from './scenarios/pull.js';
import { expectPushedImage } from './scenarios/push.js';

const gate = await requireTools('buildah', 'skopeo');

const ARCHES = ['amd64', 'arm64'] as const;

interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Labels?: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

describe('buildah against Berth', { skip: gate.skip }, () => {
  const berth = useBerth(gate, 'berth-buildah-');
  let client: ClientEnv;
  let work: string;
  /** What `buildah push` reported for bud/x:arm64, and the manifest Berth serves for it. */
  let pushed: string;
  let pushedManifest: ImageManifest;

  const remote = (reference: string): string => `docker://${client.registry}/${reference}`;
  const buildah = (args: string[]) => run(client, 'buildah', args);

  /** Fetches a blob from Berth and checks its bytes against its digest. */
  const fetchBlob = async (repo: string, digest: string): Promise<Buffer> => {
    const res = await fetch(`${berth().server.url}/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 200, `GET blob ${digest} in ${repo}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), digest);
    return bytes;
  };

  before(async () => {
    ({ client, work } = berth());

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

  test('push: buildah push of an image built from scratch; Berth serves its manifest, config and layer', async () => {
    const digestFile = join(work, 'arm64.digest');
    await buildah([
      'push',
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      'localhost/berth-x:arm64',
      remote('bud/x:arm64'),
    ]);
    pushed = await readDigestFile(digestFile);

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

    const manifest = await expectPushedImage(berth(), {
      repo: 'bud/x',
      reference: 'arm64',
      digest: pushed,
      mediaType: MediaType.ociManifest,
    });
    pushedManifest = manifest;
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

  test('pull: buildah pull from Berth, by tag and by digest, gives the image buildah pushed', async () => {
    await expectPulledBack(
      {
        async pull(reference) {
          await buildah(['pull', '--quiet', '--tls-verify=false', remote(reference)]);
          const { stdout } = await buildah([
            'inspect',
            '--type',
            'image',
            '--format',
            '{{.FromImageDigest}} {{.FromImageID}}',
            `${client.registry}/${reference}`,
          ]);
          const [digest = '', id = ''] = stdout.trim().split(' ');
          return { digest, configDigest: `sha256:${id}` };
        },
      },
      'bud/x',
      'arm64',
      { digest: pushed, configDigest: pushedManifest.config.digest },
    );
  });

  test('mount: buildah push of the image to a second repository mounts its layer from the first', async () => {
    const layer = pushedManifest.layers[0]?.digest as string;
    await expectMountedOnPush(berth(), 'bud/other', layer, async () => {
      const { stderr } = await buildah([
        '--log-level=debug',
        'push',
        '--tls-verify=false',
        'localhost/berth-x:arm64',
        remote('bud/other:arm64'),
      ]);
      return stderr;
    });
  });

  for (const format of [
    { flag: 'oci', list: MediaType.ociIndex, child: MediaType.ociManifest, tag: 'oci' },
    { flag: 'v2s2', list: MediaType.dockerManifestList, child: MediaType.dockerManifest, tag: 'v2s2' },
  ] as const) {
    test(`copy --all: buildah manifest push --all --format ${format.flag} of a two-platform list`, async () => {
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
      assert.equal((await inspectRaw(client, `bud/list:${format.tag}`)).digest, pushed);
      await expectPushedIndex(berth(), {
        repo: 'bud/list',
        tag: format.tag,
        digest: pushed,
        indexType: format.list,
        childType: format.child,
        architectures: ARCHES,
        labels: { k: 'v' },
      });
    });
  }

  test('copy --all: skopeo copy --all from Berth of the list buildah pushed keeps every digest', async () => {
    await expectCopyAllKeepsDigests(
      berth(),
      { repo: 'bud/list', tag: 'v2s2' },
      { repo: 'bud/copied', tag: 'v2s2' },
    );
  });
});

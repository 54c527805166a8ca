// podman (vfs storage, no container engine: nothing here runs a container) pulls an image `berth push
// --compression zstd` put into Berth, decompresses its zstd layer into its storage, and the layer's files are
// there: `podman image mount` shows the root file system as a container would see it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MediaType } from '../../src/oci/media-types.js';
import { berthEnv, MiB, pushJson } from '../importer/importer-fixtures.js';
import { uncompressedDockerArchive, type ZstdTestImage } from '../importer/zstd-image.js';
import { requireTools, run } from '../support/containers.js';
import { useBerth } from './scenarios/berth-under-test.js';

const gate = await requireTools('podman', 'skopeo', 'tar');

describe('podman pulls a zstd image pushed by berth', { skip: gate.skip }, () => {
  const berth = useBerth(gate, 'berth-podman-zstd-');
  let image: ZstdTestImage;
  let digest: string;

  before(async () => {
    const { client, work, docker } = berth();
    image = await uncompressedDockerArchive(client, join(work, 'image'), 3 * MiB);
    const env = await berthEnv(join(work, 'berth'));
    const report = await pushJson(env, image.location, docker('pz/app:v1'), ['--compression', 'zstd']);
    digest = report.digest;
  });

  test('podman pull, then the file of the zstd layer is in the mounted image', async () => {
    const { client } = berth();
    const podman = (args: string[]) => run(client, 'podman', args);
    const name = `${client.registry}/pz/app:v1`;
    await podman(['pull', '--tls-verify=false', name]);
    const [inspected] = JSON.parse((await podman(['image', 'inspect', name])).stdout) as {
      Digest: string;
      RootFS: { Layers: string[] };
    }[];
    assert.ok(inspected);
    assert.equal(inspected.Digest, digest, 'podman has the manifest berth pushed');
    assert.deepEqual(inspected.RootFS.Layers, [image.diffId], 'podman decompressed the layer to its diff_id');

    // The manifest podman read names the zstd layer (not a gzip copy of it).
    const raw = JSON.parse(
      (await run(client, 'skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])).stdout,
    ) as { layers: { mediaType: string }[] };
    assert.deepEqual(
      raw.layers.map((l) => l.mediaType),
      [MediaType.ociLayerZstd],
    );

    const mounted = (await podman(['image', 'mount', name])).stdout.trim();
    try {
      assert.equal(await readFile(join(mounted, image.file.path), 'utf8'), image.file.content);
    } finally {
      await podman(['image', 'unmount', name]);
    }
  });
});

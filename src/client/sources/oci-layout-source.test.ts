// OCI layout sources: folders made by umoci and buildah, archives made by skopeo and podman, and a layout and
// archive written here (those cases need no container tool and always run).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  blobPath,
  type ClientEnv,
  type ImageIndex,
  type ImageManifest,
  readLayoutIndex,
  requireTools,
  run,
  runRaw,
  sha256,
  skopeo,
  writeRootfs,
} from '../../../test/support/containers.js';
import {
  buildTestLayout,
  drain,
  expectBerthError,
  failureOf,
  type LayoutImage,
  readAll,
  sourceWork,
  tarFolder,
  withSource,
  writeTestLayout,
} from '../../../test/support/source-fixtures.js';
import { parseDigest } from '../../oci/digest.js';
import type { BerthError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import type { ImageSource } from './image-source.js';
import { openOciArchive, openOciLayout } from './oci-layout-source.js';

// The first suite reads a layout written here (tar packs its archive); the second, what the real tools write.
const tarGate = await requireTools('tar');
const toolGate = await requireTools('umoci', 'skopeo', 'buildah', 'podman', 'tar', 'gzip');

/** Checks the top manifest is umoci's image and every blob streams with its digest. */
async function checkImage(source: ImageSource, image: LayoutImage): Promise<void> {
  const top = await source.topManifest();
  assert.equal(top.digest, image.digest);
  assert.equal(sha256(top.bytes), image.digest);
  // umoci writes no mediaType field: the type comes from index.json's descriptor.
  assert.equal(top.mediaType, MediaType.ociManifest);
  await checkBlobs(source, JSON.parse(top.bytes.toString('utf8')) as ImageManifest);
}

async function checkBlobs(source: ImageSource, manifest: ImageManifest): Promise<void> {
  for (const d of [manifest.config, ...manifest.layers]) {
    const descriptor = { ...d, digest: parseDigest(d.digest) };
    assert.deepEqual(await drain(await source.openBlob(descriptor)), { size: d.size, digest: d.digest });
  }
}

describe('OCI layout and archive sources: a layout written here', { skip: tarGate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;

  before(async () => {
    tarGate.assertAvailable();
    ({ work, client } = await sourceWork(cleanups, 'berth-oci-layout-'));
    ({ layout, v1 } = await writeTestLayout(work));
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('a blob read from an offset', async () => {
    await withSource(openOciLayout(layout, 'v1'), async (source) => {
      const layer = { ...(v1.layers[1] as Descriptor), digest: parseDigest(v1.layers[1]?.digest ?? '') };
      const whole = await readFile(blobPath(layout, layer.digest));
      for (const offset of [1, 1000, layer.size]) {
        assert.deepEqual(await readAll(await source.openBlob(layer, { offset })), whole.subarray(offset));
      }
    });
  });

  test('without a tag: an error listing the tags, or naming the missing one', async () => {
    const ambiguous = await expectBerthError(openOciLayout(layout), 'IMAGE_AMBIGUOUS');
    assert.match(ambiguous.message, /"v1", "v2"/);
    const missing = await expectBerthError(openOciLayout(layout, 'v3'), 'IMAGE_NOT_FOUND');
    assert.match(missing.message, /"v3"/);
  });

  test('bad layouts: missing, not a layout, broken index.json, ambiguous', async () => {
    await expectBerthError(openOciLayout(join(work, 'nowhere')), 'LAYOUT_NOT_FOUND');
    await mkdir(join(work, 'not-a-layout', 'etc'), { recursive: true });
    await expectBerthError(openOciLayout(join(work, 'not-a-layout')), 'LAYOUT_INVALID');
    const copy = join(work, 'broken-index');
    await cp(layout, copy, { recursive: true });
    await writeFile(join(copy, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}');
    await expectBerthError(openOciLayout(copy, 'v1'), 'LAYOUT_INVALID');
    await writeFile(join(copy, 'index.json'), '{not json');
    await expectBerthError(openOciLayout(copy, 'v1'), 'LAYOUT_INVALID');
    await rm(join(copy, 'oci-layout'));
    await expectBerthError(openOciLayout(copy, 'v1'), 'LAYOUT_INVALID');
  });

  test('corrupt, truncated and missing blobs; a corrupt manifest', async () => {
    const copy = join(work, 'corrupt-layout');
    await cp(layout, copy, { recursive: true });
    const layer = { ...(v1.layers[1] as Descriptor), digest: parseDigest(v1.layers[1]?.digest ?? '') };
    const bytes = await readFile(blobPath(copy, layer.digest));
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await writeFile(blobPath(copy, layer.digest), bytes);
    await withSource(openOciLayout(copy, 'v1'), async (source) => {
      const corrupt = await failureOf(await source.openBlob(layer));
      assert.equal((corrupt.error as BerthError).code, 'BLOB_CORRUPT');
      assert.match(
        (corrupt.error as Error).message,
        new RegExp(`^oci:${copy}:v1: blobs/sha256/${layer.digest.slice(7)}: blob`),
      );
      assert.ok(corrupt.received < layer.size);

      await truncate(blobPath(copy, layer.digest), layer.size - 10);
      const short = await failureOf(await source.openBlob(layer));
      assert.equal((short.error as BerthError).code, 'BLOB_CORRUPT');

      await rm(blobPath(copy, layer.digest));
      await expectBerthError(source.openBlob(layer), 'BLOB_NOT_FOUND');
    });

    const manifestBytes = await readFile(blobPath(copy, v1.digest));
    await writeFile(
      blobPath(copy, v1.digest),
      Buffer.from(manifestBytes.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":2 ')),
    );
    await withSource(openOciLayout(copy, 'v1'), async (source) => {
      await expectBerthError(source.topManifest(), 'BLOB_CORRUPT');
    });
  });

  test('bad oci-archives: not a tar, truncated, corrupt blob', async () => {
    await writeFile(join(work, 'random-oci.tar'), randomBytes(5000));
    await expectBerthError(openOciArchive(join(work, 'random-oci.tar')), 'ARCHIVE_NOT_TAR');
    // An OCI layout in a tar, as `skopeo copy … oci-archive:` writes one.
    const archive = join(work, 'layout-oci.tar');
    await tarFolder(client, layout, archive, ['oci-layout', 'index.json', 'blobs']);
    const whole = await readFile(archive);
    // Cut inside the blobs: GNU tar pads its archive to 10 KiB records, so the last 4 KiB may be padding alone.
    await writeFile(join(work, 'cut-oci.tar'), whole.subarray(0, Math.floor(whole.length / 2)));
    await expectBerthError(openOciArchive(join(work, 'cut-oci.tar'), 'v1'), 'ARCHIVE_TRUNCATED');

    // Flip a byte of the big layer where it sits in the tar.
    const layerBytes = await readFile(blobPath(layout, v1.layers[1]?.digest ?? ''));
    const at = whole.indexOf(layerBytes.subarray(0, 64));
    assert.ok(at > 0);
    const corrupt = Buffer.from(whole);
    corrupt[at + 5000] = (corrupt[at + 5000] ?? 0) ^ 0xff;
    await writeFile(join(work, 'corrupt-oci.tar'), corrupt);
    await withSource(openOciArchive(join(work, 'corrupt-oci.tar'), 'v1'), async (source) => {
      const layer = { ...(v1.layers[1] as Descriptor), digest: parseDigest(v1.layers[1]?.digest ?? '') };
      const { error } = await failureOf(await source.openBlob(layer));
      assert.equal((error as BerthError).code, 'BLOB_CORRUPT');
    });
  });
});

describe('OCI layout and archive sources: what umoci, buildah, skopeo and podman write', {
  skip: toolGate.skip,
}, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let v2: LayoutImage;
  /** buildah's two-platform image, pushed as an OCI index into a layout. */
  let multi: string;

  before(async () => {
    toolGate.assertAvailable();
    ({ work, client } = await sourceWork(cleanups, 'berth-oci-layout-'));
    ({ layout, v1, v2 } = await buildTestLayout(client, work));

    const buildah = (args: string[]) => run(client, 'buildah', args);
    for (const arch of ['amd64', 'arm64']) {
      const rootfs = join(work, `rootfs-${arch}`);
      await writeRootfs(rootfs, { [`etc/${arch}.txt`]: `${arch}\n`, 'data/r.bin': randomBytes(50_000) });
      const container = (await buildah(['from', 'scratch'])).stdout.trim();
      await buildah(['copy', container, rootfs, '/']);
      await buildah(['config', '--arch', arch, '--os', 'linux', '--label', `arch=${arch}`, container]);
      await buildah(['commit', '--quiet', container, `localhost/multi:${arch}`]);
      await buildah(['rm', container]);
    }
    await buildah(['manifest', 'create', 'localhost/multi-list']);
    for (const arch of ['amd64', 'arm64']) {
      await buildah([
        'manifest',
        'add',
        'localhost/multi-list',
        `containers-storage:localhost/multi:${arch}`,
      ]);
    }
    multi = join(work, 'multi');
    await buildah(['manifest', 'push', '--all', '--quiet', 'localhost/multi-list', `oci:${multi}:multi`]);
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('umoci layout: images by tag, manifests and blobs as umoci wrote them', async () => {
    await withSource(openOciLayout(layout, 'v1'), async (source) => {
      assert.equal(source.description, `oci:${layout}:v1`);
      await checkImage(source, v1);
      // Any manifest of the layout can be read by digest.
      assert.equal((await source.manifest(parseDigest(v2.digest))).digest, v2.digest);
      await expectBerthError(source.manifest(parseDigest(`sha256:${'0'.repeat(64)}`)), 'MANIFEST_NOT_FOUND');
      await expectBerthError(
        source.openBlob({
          mediaType: MediaType.ociLayerGzip,
          digest: parseDigest(`sha256:${'1'.repeat(64)}`),
          size: 1,
        }),
        'BLOB_NOT_FOUND',
      );
    });
    await withSource(openOciLayout(layout, 'v2'), (source) => checkImage(source, v2));
  });

  test('without a tag: a layout with a single image (the index buildah pushed) opens it', async () => {
    await withSource(openOciLayout(multi), async (source) => {
      assert.equal((await source.topManifest()).mediaType, MediaType.ociIndex);
    });
  });

  test('buildah multi-platform index: the top manifest is the index; children, configs and layers by digest', async () => {
    const [entry] = (await readLayoutIndex(multi)).manifests;
    assert.ok(entry);
    await withSource(openOciLayout(multi, 'multi'), async (source) => {
      const top = await source.topManifest();
      assert.equal(top.digest, entry.digest);
      assert.equal(top.mediaType, MediaType.ociIndex);
      const index = JSON.parse(top.bytes.toString('utf8')) as ImageIndex;
      assert.deepEqual(index.manifests.map((m) => m.platform?.architecture).sort(), ['amd64', 'arm64']);
      for (const child of index.manifests) {
        const blob = await source.manifest(parseDigest(child.digest));
        assert.equal(blob.digest, child.digest);
        assert.equal(blob.mediaType, child.mediaType);
        assert.equal(blob.bytes.length, child.size);
        const manifest = JSON.parse(blob.bytes.toString('utf8')) as ImageManifest;
        await checkBlobs(source, manifest);
        const config = JSON.parse(
          (
            await readAll(
              await source.openBlob({ ...manifest.config, digest: parseDigest(manifest.config.digest) }),
            )
          ).toString('utf8'),
        ) as { architecture: string };
        assert.equal(config.architecture, child.platform?.architecture);
      }
    });
  });

  test('oci-archive by skopeo (plain and gzip) and by podman save: the same digests, read at offsets in the tar', async () => {
    const archive = join(work, 'skopeo-oci.tar');
    await skopeo(client, ['copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${archive}:v1`]);
    await withSource(openOciArchive(archive, 'v1'), async (source) => {
      assert.equal(source.description, `oci-archive:${archive}:v1`);
      await checkImage(source, v1);
    });
    await withSource(openOciArchive(archive), (source) => checkImage(source, v1));

    const gz = join(work, 'skopeo-oci.tar.gz');
    await writeFile(gz, (await runRaw(client, 'gzip', ['-c', archive])).stdout);
    await withSource(openOciArchive(gz, 'v1', { tempDir: work }), (source) => checkImage(source, v1));

    const multiArchive = join(work, 'multi-oci.tar');
    await skopeo(client, [
      'copy',
      '--quiet',
      '--all',
      `oci:${multi}:multi`,
      `oci-archive:${multiArchive}:multi`,
    ]);
    await withSource(openOciArchive(multiArchive, 'multi'), async (source) => {
      const index = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as ImageIndex;
      assert.equal(index.manifests.length, 2);
      for (const child of index.manifests) {
        await checkBlobs(
          source,
          JSON.parse((await source.manifest(parseDigest(child.digest))).bytes.toString('utf8')),
        );
      }
    });

    await skopeo(client, ['copy', '--quiet', `oci:${layout}:v1`, 'containers-storage:localhost/team/app:v1']);
    const podmanArchive = join(work, 'podman-oci.tar');
    await run(client, 'podman', [
      'save',
      '--format',
      'oci-archive',
      '-o',
      podmanArchive,
      'localhost/team/app:v1',
    ]);
    await withSource(openOciArchive(podmanArchive, 'localhost/team/app:v1'), async (source) => {
      const manifest = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as ImageManifest;
      assert.equal(manifest.config.digest, v1.config.digest);
      await checkBlobs(source, manifest);
    });
  });
});

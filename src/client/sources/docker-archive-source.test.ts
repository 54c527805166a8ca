// docker-archive sources over archives written by skopeo and podman, and over the Docker 25+ and classic layouts
// written here (those cases need no container tool and always run).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link as hardLink, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  blobPath,
  type ClientEnv,
  requireTools,
  run,
  runRaw,
  sha256,
  skopeo,
  writeRootfs,
} from '../../../test/support/containers.js';
import {
  drain,
  expectBerthError,
  failureOf,
  gunzipBlob,
  type LayoutImage,
  link,
  readAll,
  sourceWork,
  tarFolder,
  withSource,
  writeDocker25Archive,
  writeTestLayout,
} from '../../../test/support/source-fixtures.js';
import { parseDigest } from '../../oci/digest.js';
import type { BerthError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { familiarImageName, openDockerArchive } from './docker-archive-source.js';
import { DOCKER_LAYER_TAR, type ImageSource } from './image-source.js';
import { openOciArchive } from './oci-layout-source.js';

// The cases of the first suite read archives written here (tar packs them); the second, what the real tools write.
const tarGate = await requireTools('tar');
const toolGate = await requireTools('skopeo', 'podman', 'tar');

interface SynthesizedManifest {
  schemaVersion: number;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** Opens `path`, checks its manifest against the image umoci built and every blob's bytes; returns the manifest. */
async function checkImage(
  source: ImageSource,
  image: LayoutImage,
): Promise<{ digest: string; bytes: Buffer }> {
  const top = await source.topManifest();
  assert.equal(top.mediaType, MediaType.dockerManifest);
  assert.equal(top.digest, sha256(top.bytes));
  const manifest = JSON.parse(top.bytes.toString('utf8')) as SynthesizedManifest;
  assert.equal(manifest.schemaVersion, 2);
  assert.equal(manifest.mediaType, MediaType.dockerManifest);
  assert.deepEqual(manifest.config, {
    mediaType: MediaType.dockerConfig,
    size: image.config.bytes.length,
    digest: image.config.digest,
  });
  assert.deepEqual(
    manifest.layers.map((l) => [l.mediaType, l.digest]),
    image.diffIds.map((d) => [DOCKER_LAYER_TAR, d]),
  );
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    assert.deepEqual(await drain(await source.openBlob(descriptor)), {
      size: descriptor.size,
      digest: descriptor.digest,
    });
  }
  assert.deepEqual(await source.manifest(top.digest), top);
  await expectBerthError(source.manifest(parseDigest(`sha256:${'0'.repeat(64)}`)), 'MANIFEST_NOT_FOUND');
  await expectBerthError(
    source.openBlob({
      mediaType: DOCKER_LAYER_TAR,
      digest: parseDigest(`sha256:${'1'.repeat(64)}`),
      size: 1,
    }),
    'BLOB_NOT_FOUND',
  );
  return { digest: top.digest, bytes: top.bytes };
}

/** What both suites read: v1 and v2 in an OCI layout written without tools, and v1 as a Docker 25+ archive. */
interface Fixture {
  work: string;
  client: ClientEnv;
  layout: string;
  v1: LayoutImage;
  v2: LayoutImage;
  /** `docker save` of v1 as Docker 25+ writes it. */
  docker25: string;
  /** The OCI manifest inside docker25. */
  docker25Manifest: string;
}

async function makeFixture(cleanups: (() => unknown)[]): Promise<Fixture> {
  const { work, client } = await sourceWork(cleanups, 'berth-docker-archive-');
  const { layout, v1, v2 } = await writeTestLayout(work);
  const docker25 = join(work, 'docker25.tar');
  const { manifestDigest } = await writeDocker25Archive(client, layout, v1, 'team/app:v1', docker25);
  return { work, client, layout, v1, v2, docker25, docker25Manifest: manifestDigest };
}

describe('docker-archive source: archives written here', { skip: tarGate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let docker25: string;
  let docker25Manifest: string;
  /** The manifest Berth synthesizes for v1; every archive of v1 must give the same. */
  let v1Manifest: { digest: string; bytes: Buffer };
  let counter = 0;

  /** Writes `files` and `links` into a fresh folder and tars it. */
  const archiveOf = async (
    files: Record<string, string | Buffer>,
    links: Record<string, string> = {},
  ): Promise<string> => {
    const dir = join(work, `staging-${++counter}`);
    await mkdir(dir, { recursive: true });
    await writeRootfs(dir, files);
    for (const [path, target] of Object.entries(links)) await link(target, join(dir, path));
    const out = join(work, `archive-${counter}.tar`);
    await tarFolder(client, dir, out);
    return out;
  };

  before(async () => {
    tarGate.assertAvailable();
    ({ work, client, layout, v1, docker25, docker25Manifest } = await makeFixture(cleanups));
    v1Manifest = await withSource(openDockerArchive(docker25), (source) => checkImage(source, v1));
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('the Docker 25+ layout (an OCI layout in the tar, Layers at blobs/sha256/…) reads as docker-archive and as oci-archive', async () => {
    const archive = docker25;
    for (const image of [undefined, { tag: 'team/app:v1' }, { tag: 'docker.io/team/app:v1' }, { index: 0 }]) {
      const manifest = await withSource(openDockerArchive(archive, image), (source) =>
        checkImage(source, v1),
      );
      assert.equal(manifest.digest, v1Manifest.digest, 'every way to name the image gives one manifest');
    }
    await withSource(openOciArchive(archive, 'v1'), async (source) => {
      const top = await source.topManifest();
      assert.equal(top.digest, docker25Manifest);
      assert.equal(top.mediaType, MediaType.ociManifest);
      const manifest = JSON.parse(top.bytes.toString('utf8')) as SynthesizedManifest;
      assert.deepEqual(
        manifest.layers.map((l) => l.digest),
        v1.diffIds,
      );
      for (const d of [manifest.config, ...manifest.layers]) {
        assert.equal((await drain(await source.openBlob(d))).digest, d.digest);
      }
    });
  });

  test('a blob read from an offset yields the rest of its bytes, still verified', async () => {
    await withSource(openDockerArchive(docker25), async (source) => {
      const manifest = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as SynthesizedManifest;
      const layer = manifest.layers[1] as Descriptor;
      const whole = await readAll(await source.openBlob(layer));
      for (const offset of [0, 1, 65_536, layer.size - 1, layer.size]) {
        const rest = await readAll(await source.openBlob(layer, { offset }));
        assert.deepEqual(rest, whole.subarray(offset), `offset ${offset}`);
      }
    });
  });

  test('the classic layout with layer.tar entries that are symbolic links (relative, absolute, chained, through a linked folder) and hard links', async () => {
    const dir = join(work, 'classic');
    await mkdir(join(dir, 'real'), { recursive: true });
    const hex = (d: string) => d.slice('sha256:'.length);
    const [l1, l2] = v1.layers as [Descriptor, Descriptor];
    const d1 = await gunzipBlob(layout, l1.digest, join(dir, 'real', `${hex(v1.diffIds[0] ?? '')}.tar`));
    const d2 = await gunzipBlob(layout, l2.digest, join(dir, 'real', `${hex(v1.diffIds[1] ?? '')}.tar`));
    // A config that uses the first layer twice, as an image that re-adds the same files would.
    const config = JSON.parse(v1.config.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids = [d1.digest, d2.digest, d1.digest];
    const configBytes = Buffer.from(JSON.stringify(config));
    await writeFile(join(dir, `${hex(sha256(configBytes))}.json`), configBytes);
    await mkdir(join(dir, 'aaa'));
    await hardLink(join(dir, 'real', `${hex(d1.digest)}.tar`), join(dir, 'aaa', 'layer.tar'));
    await writeFile(join(dir, 'aaa', 'json'), '{"id":"aaa"}');
    await writeFile(join(dir, 'aaa', 'VERSION'), '1.0');
    await link('/layers/second.tar', join(dir, 'bbb', 'layer.tar'));
    await link(`../real/${hex(d2.digest)}.tar`, join(dir, 'layers', 'second.tar'));
    await link('bbb', join(dir, 'eee'));
    await link('../aaa/layer.tar', join(dir, 'ccc', 'layer.tar'));
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify([
        {
          Config: `${hex(sha256(configBytes))}.json`,
          RepoTags: ['team/classic:v1'],
          Layers: ['aaa/layer.tar', 'eee/layer.tar', 'ccc/layer.tar'],
        },
      ]),
    );
    await writeFile(join(dir, 'repositories'), '{"team/classic":{"v1":"ccc"}}');
    const archive = join(work, 'classic.tar');
    await tarFolder(client, dir, archive);
    const { stdout } = await run(client, 'tar', ['-tvf', archive]);
    assert.match(stdout, /layer\.tar link to/, 'tar stored a hard link');

    await withSource(openDockerArchive(archive, { tag: 'team/classic:v1' }), async (source) => {
      const manifest = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as SynthesizedManifest;
      assert.equal(manifest.config.digest, sha256(configBytes));
      assert.deepEqual(
        manifest.layers.map((l) => [l.digest, l.size]),
        [
          [d1.digest, d1.size],
          [d2.digest, d2.size],
          [d1.digest, d1.size],
        ],
      );
      for (const d of [manifest.config, ...manifest.layers]) {
        assert.deepEqual(await drain(await source.openBlob(d)), { size: d.size, digest: d.digest });
      }
    });
  });

  test('a gzip-compressed archive is decompressed once to a temporary file, removed on close', async () => {
    const gz = join(work, 'docker25.tar.gz');
    const stdout = gzipSync(await readFile(docker25));
    await writeFile(gz, stdout);
    const temp = join(work, 'gz-temp');
    await mkdir(temp);
    const source = await openDockerArchive(gz, undefined, { tempDir: temp });
    assert.equal((await readdir(temp)).length, 1);
    assert.equal((await checkImage(source, v1)).digest, v1Manifest.digest);
    await source.close();
    assert.deepEqual(await readdir(temp), []);

    await writeFile(join(work, 'cut.tar.gz'), stdout.subarray(0, Math.floor(stdout.length / 2)));
    await expectBerthError(
      openDockerArchive(join(work, 'cut.tar.gz'), undefined, { tempDir: temp }),
      'ARCHIVE_TRUNCATED',
    );
    assert.deepEqual(await readdir(temp), [], 'the temporary copy of a failed archive is removed too');
  });

  test('gzip layers (as the containerd image store exports them) are described as gzip, by their compressed digest', async () => {
    const [l1, l2] = v1.layers as [Descriptor, Descriptor];
    const archive = await archiveOf({
      [`blobs/sha256/${l1.digest.slice(7)}`]: await readFile(blobPath(layout, l1.digest)),
      'layers/two.tar.gz': await readFile(blobPath(layout, l2.digest)),
      'config.json': v1.config.bytes,
      'manifest.json': JSON.stringify([
        {
          Config: 'config.json',
          RepoTags: ['team/gz:v1'],
          Layers: [`blobs/sha256/${l1.digest.slice(7)}`, 'layers/two.tar.gz'],
        },
      ]),
    });
    await withSource(openDockerArchive(archive), async (source) => {
      const manifest = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as SynthesizedManifest;
      assert.deepEqual(
        manifest.layers.map((l) => [l.mediaType, l.digest, l.size]),
        [l1, l2].map((l) => [MediaType.dockerLayerGzip, l.digest, l.size]),
      );
      for (const d of manifest.layers) assert.equal((await drain(await source.openBlob(d))).digest, d.digest);
    });
  });

  test('bad archives fail with one clear line naming the archive and the cause', async () => {
    await expectBerthError(openDockerArchive(join(work, 'no-such.tar')), 'ARCHIVE_NOT_FOUND');
    await writeFile(join(work, 'random.tar'), randomBytes(10_000));
    const notTar = await expectBerthError(openDockerArchive(join(work, 'random.tar')), 'ARCHIVE_NOT_TAR');
    assert.match(
      notTar.message,
      new RegExp(`^docker-archive:${join(work, 'random.tar')}: not a tar archive`),
    );

    // Cut inside the 300 KiB layer.
    const whole = await readFile(docker25);
    await writeFile(join(work, 'truncated.tar'), whole.subarray(0, Math.floor(whole.length / 2)));
    const truncated = await expectBerthError(
      openDockerArchive(join(work, 'truncated.tar')),
      'ARCHIVE_TRUNCATED',
    );
    assert.match(truncated.message, /truncated\.tar: truncated archive/);

    const noManifest = await archiveOf({ 'config.json': '{}', 'layer.tar': 'x' });
    await expectBerthError(openDockerArchive(noManifest), 'ARCHIVE_ENTRY_MISSING');
    const ociArchive = join(work, 'oci.tar');
    // An OCI layout in a tar is an oci-archive, as `skopeo copy … oci-archive:` writes one.
    await tarFolder(client, layout, ociArchive, ['oci-layout', 'index.json', 'blobs']);
    const hint = await expectBerthError(openDockerArchive(ociArchive), 'ARCHIVE_ENTRY_MISSING');
    assert.match(hint.message, /oci-archive:/);

    const badJson = await archiveOf({ 'manifest.json': '[{"Config": ' });
    await expectBerthError(openDockerArchive(badJson), 'ARCHIVE_INVALID');

    const image = (layers: string[], configBytes: Buffer = v1.config.bytes) => ({
      'config.json': configBytes,
      'manifest.json': JSON.stringify([{ Config: 'config.json', RepoTags: ['t/x:1'], Layers: layers }]),
    });
    const missingLayer = await archiveOf({
      ...image(['one/layer.tar', 'nope/layer.tar']),
      'one/layer.tar': 'x',
    });
    const missing = await expectBerthError(openDockerArchive(missingLayer), 'ARCHIVE_ENTRY_MISSING');
    assert.match(missing.message, /layer "nope\/layer\.tar" is not in the archive/);

    const dangling = await archiveOf(image(['one/layer.tar', 'two/layer.tar']), {
      'one/layer.tar': '../gone.tar',
      'two/layer.tar': '../gone.tar',
    });
    await expectBerthError(openDockerArchive(dangling), 'ARCHIVE_ENTRY_MISSING');

    const loop = await archiveOf(image(['one/layer.tar', 'two/layer.tar']), {
      'one/layer.tar': '../two/layer.tar',
      'two/layer.tar': '/one/layer.tar',
    });
    await expectBerthError(openDockerArchive(loop), 'ARCHIVE_LINK_LOOP');

    const countMismatch = await archiveOf({ ...image(['a.tar']), 'a.tar': 'x' });
    await expectBerthError(openDockerArchive(countMismatch), 'ARCHIVE_INVALID');
  });

  test('corrupt layer bytes are caught while streaming: BLOB_CORRUPT naming the layer path', async () => {
    const dir = join(work, 'corrupt');
    await mkdir(dir);
    await run(client, 'tar', ['-xf', docker25, '-C', dir]);
    const layerFile = `blobs/sha256/${(v1.diffIds[1] ?? '').slice(7)}`;
    const bytes = await readFile(join(dir, layerFile));
    // Inside the random file's content: the tar stays well-formed, only the digest changes.
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(join(dir, layerFile), bytes);
    const archive = join(work, 'corrupt.tar');
    await tarFolder(client, dir, archive);
    await withSource(openDockerArchive(archive), async (source) => {
      const manifest = JSON.parse((await source.topManifest()).bytes.toString('utf8')) as SynthesizedManifest;
      const layer = manifest.layers[1] as Descriptor;
      const { error, received } = await failureOf(await source.openBlob(layer));
      assert.equal((error as BerthError).code, 'BLOB_CORRUPT');
      assert.match(
        (error as Error).message,
        new RegExp(`^docker-archive:${archive}: layer ${layerFile}: blob ${layer.digest} is corrupt`),
      );
      assert.ok(received < layer.size, 'the consumer never gets every byte of a corrupt layer');
      // The intact layer still reads.
      assert.equal(
        (await drain(await source.openBlob(manifest.layers[0] as Descriptor))).digest,
        v1.diffIds[0],
      );
    });
  });

  test('familiar names: docker.io/, library/ and localhost/ are dropped; no tag means latest', () => {
    assert.equal(familiarImageName('docker.io/library/alpine'), 'alpine:latest');
    assert.equal(familiarImageName('localhost/team/app:v1'), 'team/app:v1');
    assert.equal(
      familiarImageName('registry.example.com:5000/team/app:v1'),
      'registry.example.com:5000/team/app:v1',
    );
    assert.equal(familiarImageName('library/team/app:v1'), 'library/team/app:v1');
  });

  test('closing twice is harmless; the archive file is not touched', async () => {
    const before = await readFile(docker25);
    const source = await openDockerArchive(docker25);
    await source.close();
    await source.close();
    assert.deepEqual(await readFile(docker25), before);
  });
});

describe('docker-archive source: archives skopeo and podman write', { skip: toolGate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let fixture: Fixture;
  let work: string;
  let client: ClientEnv;
  let layout: string;
  let v1: LayoutImage;
  let v2: LayoutImage;
  /** `skopeo copy oci:…:v1 docker-archive:…:team/app:v1` */
  let skopeoArchive: string;
  /** The manifest Berth synthesizes for v1; every archive of v1 must give the same. */
  let v1Manifest: { digest: string; bytes: Buffer };

  before(async () => {
    toolGate.assertAvailable();
    fixture = await makeFixture(cleanups);
    ({ work, client, layout, v1, v2 } = fixture);
    skopeoArchive = join(work, 'skopeo.tar');
    await skopeo(client, [
      'copy',
      '--quiet',
      `oci:${layout}:v1`,
      `docker-archive:${skopeoArchive}:team/app:v1`,
    ]);
  });

  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('skopeo archive: the manifest names the config and diffIDs, blobs verify, and the bytes are what skopeo synthesizes', async () => {
    v1Manifest = await withSource(openDockerArchive(skopeoArchive), (source) => checkImage(source, v1));
    for (const tag of ['team/app:v1', 'docker.io/team/app:v1']) {
      const again = await withSource(openDockerArchive(skopeoArchive, { tag }), (source) => {
        assert.equal(source.description, `docker-archive:${skopeoArchive}:${tag}`);
        return source.topManifest();
      });
      assert.equal(again.digest, v1Manifest.digest, 'the synthesized manifest is stable');
    }
    const docker25Synthesized = await withSource(openDockerArchive(fixture.docker25), (source) =>
      source.topManifest(),
    );
    assert.equal(
      docker25Synthesized.digest,
      v1Manifest.digest,
      'the Docker 25+ archive of v1 gives the same',
    );
    // skopeo describes the same uncompressed layers as `.tar.gzip`; apart from that the bytes are the same.
    const { stdout } = await runRaw(client, 'skopeo', [
      '--policy',
      client.policy,
      'inspect',
      '--raw',
      `docker-archive:${skopeoArchive}`,
    ]);
    assert.equal(
      stdout.toString('utf8').replaceAll(MediaType.dockerLayerGzip, DOCKER_LAYER_TAR),
      v1Manifest.bytes.toString('utf8'),
    );
  });

  test('podman save --format docker-archive (tags stored as localhost/…)', async () => {
    await skopeo(client, ['copy', '--quiet', `oci:${layout}:v1`, 'containers-storage:localhost/team/app:v1']);
    const archive = join(work, 'podman.tar');
    await run(client, 'podman', [
      'save',
      '--format',
      'docker-archive',
      '-o',
      archive,
      'localhost/team/app:v1',
    ]);
    for (const tag of [undefined, 'team/app:v1', 'localhost/team/app:v1']) {
      const manifest = await withSource(openDockerArchive(archive, tag ? { tag } : undefined), (source) =>
        checkImage(source, v1),
      );
      assert.equal(manifest.digest, v1Manifest.digest);
    }
  });

  test('podman save -m: a multi-image archive, by tag or index; ambiguity and absence are errors', async () => {
    await skopeo(client, [
      'copy',
      '--quiet',
      `oci:${layout}:v2`,
      'containers-storage:localhost/team/other:v2',
    ]);
    const archive = join(work, 'podman-multi.tar');
    await run(client, 'podman', [
      'save',
      '-m',
      '--format',
      'docker-archive',
      '-o',
      archive,
      'localhost/team/app:v1',
      'localhost/team/other:v2',
    ]);
    const { stdout } = await run(client, 'tar', ['-xOf', archive, 'manifest.json']);
    const items = JSON.parse(stdout) as { RepoTags: string[] }[];
    const otherIndex = items.findIndex((i) => i.RepoTags.includes('localhost/team/other:v2'));
    assert.ok(otherIndex >= 0);

    await withSource(openDockerArchive(archive, { tag: 'team/other:v2' }), (s) => checkImage(s, v2));
    await withSource(openDockerArchive(archive, { index: otherIndex }), (s) => checkImage(s, v2));
    const app = await withSource(openDockerArchive(archive, { index: 1 - otherIndex }), (s) =>
      checkImage(s, v1),
    );
    assert.equal(app.digest, v1Manifest.digest);
    await withSource(openDockerArchive(archive, { tag: 'localhost/team/app:v1' }), (s) => checkImage(s, v1));

    const ambiguous = await expectBerthError(openDockerArchive(archive), 'IMAGE_AMBIGUOUS');
    assert.match(ambiguous.message, /localhost\/team\/other:v2/);
    const missing = await expectBerthError(
      openDockerArchive(archive, { tag: 'team/app:v9' }),
      'IMAGE_NOT_FOUND',
    );
    assert.match(missing.message, /team\/app:v9.*localhost\/team\/app:v1/);
    await expectBerthError(openDockerArchive(archive, { index: 2 }), 'IMAGE_NOT_FOUND');
  });
});

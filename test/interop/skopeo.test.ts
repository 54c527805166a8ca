// skopeo (and umoci to build the images) against a real Berth on a loopback port: the shared scenarios (push,
// pull, mount, copy --all) and what only skopeo does (docker-archive, list-tags, delete).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { MediaType } from '../../src/oci/media-types.js';
import {
  addLayoutIndex,
  blobPath,
  type ClientEnv,
  fetchManifest,
  type ImageIndex,
  type ImageManifest,
  inspectRaw,
  readDigestFile,
  readLayoutRef,
  requireTools,
  runFailing,
  runRaw,
  sha256,
  skopeo,
  umociImage,
  writeRootfs,
} from '../support/containers.js';
import { useBerth } from './scenarios/berth-under-test.js';
import { expectCopyAllKeepsDigests, expectPushedIndex } from './scenarios/copy-all.js';
import { expectMountedOnPush } from './scenarios/mount.js';
import { expectPulledBack } from './scenarios/pull.js';
import { expectPushedImage } from './scenarios/push.js';

const gate = await requireTools('skopeo', 'umoci');

describe('skopeo against Berth', { skip: gate.skip }, () => {
  const berth = useBerth(gate, 'berth-skopeo-');
  let client: ClientEnv;
  let work: string;
  let layout: string;
  /** The image umoci built: its manifest as it sits in the layout. */
  let source: { digest: string; bytes: Buffer; manifest: ImageManifest };
  let pulls = 0;

  const registryUrl = (): string => berth().server.url;
  const docker = (reference: string): string => berth().docker(reference);

  before(async () => {
    ({ client, work } = berth());
    // A layer of a few files, one of them 2 MiB of random bytes so every run pushes new blobs.
    const rootfs = join(work, 'rootfs');
    await writeRootfs(rootfs, {
      'etc/hello.txt': 'hello from berth\n',
      'etc/os-release': 'ID=berth-test\n',
      'data/random.bin': randomBytes(2 * 1024 * 1024),
      'usr/share/doc/readme': `nonce ${randomBytes(8).toString('hex')}\n`,
    });
    layout = join(work, 'layout');
    await umociImage(client, layout, 'v1', {
      rootfs,
      arch: 'amd64',
      labels: { 'org.example.team': 'berth', k: 'v' },
    });
    const ref = await readLayoutRef(layout, 'v1');
    source = { digest: ref.digest, bytes: ref.bytes, manifest: JSON.parse(ref.bytes.toString('utf8')) };
    assert.equal(source.manifest.layers.length, 1, 'umoci should have written one layer');
  });

  test('push: copies an OCI layout to Berth; inspect --raw returns the very manifest bytes', async () => {
    const digestFile = join(work, 'v1.digest');
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--digestfile',
      digestFile,
      `oci:${layout}:v1`,
      docker('team/app:v1'),
    ]);
    assert.equal(await readDigestFile(digestFile), source.digest);

    const raw = await inspectRaw(client, 'team/app:v1');
    assert.equal(
      raw.digest,
      source.digest,
      'skopeo inspect --raw digest differs from the layout manifest digest',
    );
    assert.deepEqual(raw.bytes, source.bytes);
    // umoci writes no mediaType field: Berth must serve the type it was pushed with.
    await expectPushedImage(berth(), {
      repo: 'team/app',
      reference: 'v1',
      digest: source.digest,
      mediaType: MediaType.ociManifest,
    });
  });

  test('pull: copies back from Berth to a new OCI layout with the same manifest, config and layer digests', async () => {
    // skopeo pulls into an OCI layout of its own; each pull gets a fresh one.
    await expectPulledBack(
      {
        async pull(reference) {
          const back = join(work, `back-${++pulls}`);
          await skopeo(client, ['copy', '--src-tls-verify=false', docker(reference), `oci:${back}:v1`]);
          const ref = await readLayoutRef(back, 'v1');
          const manifest = JSON.parse(ref.bytes.toString('utf8')) as ImageManifest;
          assert.deepEqual(
            manifest.layers.map((l) => l.digest),
            source.manifest.layers.map((l) => l.digest),
          );
          for (const blob of [manifest.config, ...manifest.layers]) {
            const bytes = await readFile(blobPath(back, blob.digest));
            assert.equal(sha256(bytes), blob.digest, `blob ${blob.digest} copied back has other bytes`);
            assert.equal(bytes.length, blob.size);
          }
          return { digest: ref.digest, configDigest: manifest.config.digest };
        },
      },
      'team/app',
      'v1',
      { digest: source.digest, configDigest: source.manifest.config.digest },
    );
  });

  test('push: a Docker schema 2 manifest with --format v2s2', async () => {
    const digestFile = join(work, 'v2s2.digest');
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      '--digestfile',
      digestFile,
      `oci:${layout}:v1`,
      docker('team/app:v2s2'),
    ]);
    const pushed = await readDigestFile(digestFile);
    const raw = await inspectRaw(client, 'team/app:v2s2');
    assert.equal(raw.digest, pushed);
    const manifest = JSON.parse(raw.bytes.toString('utf8')) as ImageManifest;
    assert.equal(manifest.mediaType, MediaType.dockerManifest);
    assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
    // Converting the manifest type leaves the blobs alone.
    assert.equal(manifest.config.digest, source.manifest.config.digest);
    assert.deepEqual(
      manifest.layers.map((l) => l.digest),
      source.manifest.layers.map((l) => l.digest),
    );

    await expectPushedImage(berth(), {
      repo: 'team/app',
      reference: 'v2s2',
      digest: pushed,
      mediaType: MediaType.dockerManifest,
    });
  });

  test('pushes a docker-archive; the layer Berth serves unpacks to the diff_id of the config', async () => {
    const archive = join(work, 'x.tar');
    await skopeo(client, ['copy', `oci:${layout}:v1`, `docker-archive:${archive}:team/x:v1`]);
    const digestFile = join(work, 'archive.digest');
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--digestfile',
      digestFile,
      `docker-archive:${archive}`,
      docker('team/app:archive'),
    ]);
    const pushed = await readDigestFile(digestFile);
    const raw = await inspectRaw(client, 'team/app:archive');
    assert.equal(raw.digest, pushed);
    const manifest = JSON.parse(raw.bytes.toString('utf8')) as ImageManifest;
    assert.equal(manifest.mediaType, MediaType.dockerManifest);
    // A docker-archive keeps the config byte for byte.
    assert.equal(manifest.config.digest, source.manifest.config.digest);

    const configRes = await fetch(`${registryUrl()}/v2/team/app/blobs/${manifest.config.digest}`);
    assert.equal(configRes.status, 200);
    const configBytes = Buffer.from(await configRes.arrayBuffer());
    assert.equal(sha256(configBytes), manifest.config.digest);
    const config = JSON.parse(configBytes.toString('utf8')) as {
      architecture: string;
      config?: { Labels?: Record<string, string> };
      rootfs: { diff_ids: string[] };
    };
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.config?.Labels?.k, 'v');
    assert.equal(manifest.layers.length, config.rootfs.diff_ids.length);
    for (const [i, layer] of manifest.layers.entries()) {
      const res = await fetch(`${registryUrl()}/v2/team/app/blobs/${layer.digest}`);
      assert.equal(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(bytes), layer.digest);
      assert.equal(sha256(gunzipSync(bytes)), config.rootfs.diff_ids[i]);
    }
  });

  test('list-tags shows every tag pushed', async () => {
    const { stdout } = await skopeo(client, ['list-tags', '--tls-verify=false', docker('team/app')]);
    const listed = JSON.parse(stdout) as { Repository: string; Tags: string[] };
    assert.equal(listed.Repository, `${client.registry}/team/app`);
    assert.deepEqual([...listed.Tags].sort(), ['archive', 'v1', 'v2s2']);
  });

  test('mount: pushing the same image to a second repository mounts its layer from the first', async () => {
    const layer = source.manifest.layers[0]?.digest as string;
    await expectMountedOnPush(berth(), 'team/other', layer, async () => {
      const { stderr } = await skopeo(client, [
        '--debug',
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        docker('team/other:v1'),
      ]);
      return stderr;
    });
    const raw = await inspectRaw(client, 'team/other:v1');
    assert.equal(raw.digest, source.digest);
  });

  test('delete by digest removes the manifest and every tag on it', async () => {
    for (const tag of ['a', 'b']) {
      await skopeo(client, [
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        docker(`team/doomed:${tag}`),
      ]);
    }
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      `oci:${layout}:v1`,
      docker('team/doomed:keep'),
    ]);
    const keep = await inspectRaw(client, 'team/doomed:keep');
    assert.notEqual(keep.digest, source.digest);

    await skopeo(client, ['delete', '--tls-verify=false', docker(`team/doomed@${source.digest}`)]);

    const byDigest = await runFailing(client, 'skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      docker(`team/doomed@${source.digest}`),
    ]);
    assert.match(byDigest.stderr, /manifest unknown/i);
    const byTag = await runFailing(client, 'skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      docker('team/doomed:a'),
    ]);
    assert.match(byTag.stderr, /manifest unknown/i);
    assert.equal((await fetchManifest(registryUrl(), 'team/doomed', source.digest)).status, 404);

    const { stdout } = await skopeo(client, ['list-tags', '--tls-verify=false', docker('team/doomed')]);
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags, ['keep']);
    assert.equal((await inspectRaw(client, 'team/doomed:keep')).digest, keep.digest);
    // The same manifest in another repository is untouched.
    assert.equal((await inspectRaw(client, 'team/app:v1')).digest, source.digest);
  });

  test('copy --all: a multi-arch OCI index keeps the index and every child digest', async () => {
    const multi = join(work, 'multi');
    const children: { digest: string; size: number; mediaType: string; bytes: Buffer; arch: string }[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const rootfs = join(work, `rootfs-${arch}`);
      await writeRootfs(rootfs, {
        'etc/arch': `${arch}\n`,
        'data/blob.bin': randomBytes(64 * 1024),
      });
      await umociImage(client, multi, arch, { rootfs, arch, labels: { arch } });
      const ref = await readLayoutRef(multi, arch);
      children.push({
        digest: ref.digest,
        size: ref.bytes.length,
        mediaType: MediaType.ociManifest,
        bytes: ref.bytes,
        arch,
      });
    }
    const index = await addLayoutIndex(
      multi,
      'multi',
      children.map((c) => ({ ...c, platform: { architecture: c.arch, os: 'linux' } })),
    );

    const digestFile = join(work, 'multi.digest');
    await skopeo(client, [
      'copy',
      '--all',
      '--dest-tls-verify=false',
      '--digestfile',
      digestFile,
      `oci:${multi}:multi`,
      docker('team/multi:v1'),
    ]);
    assert.equal(await readDigestFile(digestFile), index.digest);

    const raw = await inspectRaw(client, 'team/multi:v1');
    assert.equal(raw.digest, index.digest);
    assert.deepEqual(raw.bytes, index.bytes);
    await expectPushedIndex(berth(), {
      repo: 'team/multi',
      tag: 'v1',
      digest: index.digest,
      indexType: MediaType.ociIndex,
      childType: MediaType.ociManifest,
      architectures: ['amd64', 'arm64'],
    });

    for (const child of children) {
      const childRaw = await inspectRaw(client, `team/multi@${child.digest}`);
      assert.equal(childRaw.digest, child.digest, `child ${child.arch}`);
      assert.deepEqual(childRaw.bytes, child.bytes);
      const manifest = JSON.parse(child.bytes.toString('utf8')) as ImageManifest;
      const { stdout: config } = await runRaw(client, 'skopeo', [
        'inspect',
        '--tls-verify=false',
        '--config',
        '--raw',
        docker(`team/multi@${child.digest}`),
      ]);
      assert.equal(sha256(config), manifest.config.digest);
      assert.equal(
        (JSON.parse(config.toString('utf8')) as { architecture: string }).architecture,
        child.arch,
      );
    }
    await expectCopyAllKeepsDigests(
      berth(),
      { repo: 'team/multi', tag: 'v1' },
      { repo: 'team/copied', tag: 'v1' },
    );

    const back = join(work, 'multi-back');
    await skopeo(client, [
      'copy',
      '--all',
      '--src-tls-verify=false',
      docker('team/multi:v1'),
      `oci:${back}:v1`,
    ]);
    const backRef = await readLayoutRef(back, 'v1');
    assert.equal(backRef.digest, index.digest);
    const backIndex = JSON.parse(backRef.bytes.toString('utf8')) as ImageIndex;
    for (const child of backIndex.manifests) {
      const bytes = await readFile(blobPath(back, child.digest));
      assert.equal(sha256(bytes), child.digest);
    }
  });
});

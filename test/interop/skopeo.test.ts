// skopeo (and umoci to build the images) against a real Berth on a loopback port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  addLayoutIndex,
  blobPath,
  type ClientEnv,
  fetchManifest,
  headStatus,
  type ImageIndex,
  type ImageManifest,
  inspectRaw,
  makeClientEnv,
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
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo', 'umoci');

function bare(contentType: string | null): string | undefined {
  return contentType?.split(';')[0]?.trim();
}

describe('skopeo against Berth', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let server: RunningServer | undefined;
  let client: ClientEnv;
  let work: string;
  let layout: string;
  /** The image umoci built: its manifest as it sits in the layout. */
  let source: { digest: string; bytes: Buffer; manifest: ImageManifest };

  const registry = (): RunningServer => {
    assert.ok(server, 'the server did not start');
    return server;
  };
  const docker = (reference: string): string => `docker://${client.registry}/${reference}`;

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-skopeo-');
    server = await startTestServer({ data: join(work, 'data') });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);

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

  after(async () => {
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('copies an OCI layout to Berth; inspect --raw returns the very manifest bytes', async () => {
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
    const fetched = await fetchManifest(registry().url, 'team/app', 'v1');
    assert.equal(fetched.status, 200);
    assert.equal(fetched.dockerContentDigest, source.digest);
    assert.equal(bare(fetched.contentType), MediaType.ociManifest);
    for (const blob of [source.manifest.config, ...source.manifest.layers]) {
      assert.equal(await headStatus(registry().url, `team/app/blobs/${blob.digest}`), 200, blob.digest);
    }
  });

  test('copies back from Berth to a new OCI layout with the same manifest, config and layer digests', async () => {
    const back = join(work, 'back');
    await skopeo(client, ['copy', '--src-tls-verify=false', docker('team/app:v1'), `oci:${back}:v1`]);
    const ref = await readLayoutRef(back, 'v1');
    assert.equal(ref.digest, source.digest);
    const manifest = JSON.parse(ref.bytes.toString('utf8')) as ImageManifest;
    assert.equal(manifest.config.digest, source.manifest.config.digest);
    assert.deepEqual(
      manifest.layers.map((l) => l.digest),
      source.manifest.layers.map((l) => l.digest),
    );
    for (const blob of [manifest.config, ...manifest.layers]) {
      const bytes = await readFile(blobPath(back, blob.digest));
      assert.equal(sha256(bytes), blob.digest, `blob ${blob.digest} copied back has other bytes`);
      assert.equal(bytes.length, blob.size);
    }
  });

  test('pushes a Docker schema 2 manifest with --format v2s2', async () => {
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

    const fetched = await fetchManifest(registry().url, 'team/app', 'v2s2');
    assert.equal(fetched.status, 200);
    assert.equal(bare(fetched.contentType), MediaType.dockerManifest);
    assert.equal(fetched.dockerContentDigest, pushed);
    assert.equal(fetched.digest, pushed);
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

    const configRes = await fetch(`${registry().url}/v2/team/app/blobs/${manifest.config.digest}`);
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
      const res = await fetch(`${registry().url}/v2/team/app/blobs/${layer.digest}`);
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

  test('pushing the same image to a second repository mounts its layer from the first', async () => {
    const layer = source.manifest.layers[0]?.digest as string;
    // A repository reads only blobs linked to it, until they are pushed or mounted there.
    assert.equal(await headStatus(registry().url, `team/other/blobs/${layer}`), 404);

    const { stderr } = await skopeo(client, [
      '--debug',
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      docker('team/other:v1'),
    ]);
    const hex = layer.slice('sha256:'.length);
    assert.match(
      stderr,
      new RegExp(`Trying to mount /v2/team/other/blobs/uploads/\\?from=[^&]+&mount=sha256%3A${hex}`),
      `skopeo did not try a cross-repository mount of ${layer}:\n${stderr}`,
    );
    assert.match(stderr, /mount OK/, `the cross-repository mount was not accepted:\n${stderr}`);
    assert.equal(await headStatus(registry().url, `team/other/blobs/${layer}`), 200);
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
    assert.equal((await fetchManifest(registry().url, 'team/doomed', source.digest)).status, 404);

    const { stdout } = await skopeo(client, ['list-tags', '--tls-verify=false', docker('team/doomed')]);
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags, ['keep']);
    assert.equal((await inspectRaw(client, 'team/doomed:keep')).digest, keep.digest);
    // The same manifest in another repository is untouched.
    assert.equal((await inspectRaw(client, 'team/app:v1')).digest, source.digest);
  });

  test('copy --all of a multi-arch OCI index keeps the index and every child digest', async () => {
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
    const fetched = await fetchManifest(registry().url, 'team/multi', 'v1');
    assert.equal(bare(fetched.contentType), MediaType.ociIndex);
    assert.equal(fetched.dockerContentDigest, index.digest);

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
      for (const layer of manifest.layers) {
        assert.equal(await headStatus(registry().url, `team/multi/blobs/${layer.digest}`), 200);
      }
    }

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

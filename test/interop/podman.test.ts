// podman (with vfs storage, no container engine) against a real Berth on a loopback port: the shared scenarios
// (push, pull, mount, copy --all) and what only podman does (load and save archives, image IDs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MediaType } from '../../src/oci/media-types.js';
import {
  type ClientEnv,
  fetchManifest,
  type ImageManifest,
  inspectRaw,
  readDigestFile,
  readLayoutRef,
  requireTools,
  run,
  runFailing,
  skopeo,
  umociImage,
  writeRootfs,
} from '../support/containers.js';
import { useBerth } from './scenarios/berth-under-test.js';
import { expectCopyAllKeepsDigests, expectPushedIndex } from './scenarios/copy-all.js';
import { expectMountedOnPush } from './scenarios/mount.js';
import { expectPulledBack } from './scenarios/pull.js';
import { expectPushedImage } from './scenarios/push.js';

const gate = await requireTools('podman', 'skopeo', 'umoci');

interface PodmanImage {
  Id: string;
  Digest: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Architecture: string;
  Labels: Record<string, string> | null;
}

describe('podman against Berth', { skip: gate.skip }, () => {
  const berth = useBerth(gate, 'berth-podman-');
  let client: ClientEnv;
  let work: string;
  /** The image umoci built, as it sits in the OCI layout. */
  let source: { digest: string; manifest: ImageManifest };
  /** What `podman push` reported for pod/app:v1. */
  let pushed: string;

  const remote = (reference: string): string => `${client.registry}/${reference}`;
  const podman = (args: string[]) => run(client, 'podman', args);
  const inspect = async (name: string): Promise<PodmanImage> => {
    const { stdout } = await podman(['image', 'inspect', name]);
    const [image] = JSON.parse(stdout) as PodmanImage[];
    assert.ok(image, `podman image inspect ${name} returned nothing`);
    return image;
  };
  /** The image ID podman shows is the config digest without its algorithm. */
  const configId = (): string => source.manifest.config.digest.slice('sha256:'.length);

  before(async () => {
    ({ client, work } = berth());

    const rootfs = join(work, 'rootfs');
    await writeRootfs(rootfs, {
      'etc/hello.txt': 'hello from podman\n',
      'data/random.bin': randomBytes(2 * 1024 * 1024),
    });
    const layout = join(work, 'layout');
    await umociImage(client, layout, 'v1', { rootfs, arch: 'amd64', labels: { k: 'v' } });
    const ref = await readLayoutRef(layout, 'v1');
    source = { digest: ref.digest, manifest: JSON.parse(ref.bytes.toString('utf8')) as ImageManifest };
    // podman load of an oci-archive (podman cannot pull `oci:` from a path with capital letters, as mkdtemp makes).
    await skopeo(client, [
      'copy',
      `oci:${layout}:v1`,
      `oci-archive:${join(work, 'src.tar')}:localhost/src:v1`,
    ]);
  });

  test('podman load of an OCI archive keeps the manifest digest', async () => {
    const { stdout } = await podman(['load', '-i', join(work, 'src.tar')]);
    assert.match(stdout, /localhost\/src:v1/);
    const image = await inspect('localhost/src:v1');
    assert.equal(image.Digest, source.digest);
    assert.equal(image.Id, configId());
    assert.equal(image.Labels?.k, 'v');
  });

  test('push: podman tag and push to Berth; the registry serves the digest podman reports', async () => {
    await podman(['tag', 'localhost/src:v1', remote('pod/app:v1')]);
    const digestFile = join(work, 'push.digest');
    await podman(['push', '--tls-verify=false', '--digestfile', digestFile, remote('pod/app:v1')]);
    pushed = await readDigestFile(digestFile);

    const manifest = await expectPushedImage(berth(), {
      repo: 'pod/app',
      reference: 'v1',
      digest: pushed,
      mediaType: MediaType.ociManifest,
    });
    assert.equal(manifest.config.digest, source.manifest.config.digest);
    assert.equal(manifest.layers.length, source.manifest.layers.length);
  });

  test('pull: podman rmi then pull from Berth gives back the same image and digest', async () => {
    await podman(['rmi', remote('pod/app:v1'), 'localhost/src:v1']);
    await runFailing(client, 'podman', ['image', 'exists', remote('pod/app:v1')]);

    // By tag, then by digest.
    await expectPulledBack(
      {
        async pull(reference) {
          await podman(['pull', '--tls-verify=false', remote(reference)]);
          const image = await inspect(remote(reference));
          return { digest: image.Digest, configDigest: `sha256:${image.Id}` };
        },
      },
      'pod/app',
      'v1',
      { digest: pushed, configDigest: source.manifest.config.digest },
    );
    const image = await inspect(remote('pod/app:v1'));
    assert.ok(
      image.RepoDigests?.includes(remote(`pod/app@${pushed}`)),
      `RepoDigests ${JSON.stringify(image.RepoDigests)} lack ${pushed}`,
    );
    assert.equal(image.Labels?.k, 'v');
  });

  test('mount: podman push of the image to a second repository mounts its layers from the first', async () => {
    const served = JSON.parse(
      (await fetchManifest(berth().server.url, 'pod/app', 'v1')).bytes.toString('utf8'),
    );
    const layer = (served as ImageManifest).layers[0]?.digest as string;
    await podman(['tag', remote('pod/app:v1'), remote('pod/other:v1')]);
    await expectMountedOnPush(berth(), 'pod/other', layer, async () => {
      const { stderr } = await podman([
        '--log-level=debug',
        'push',
        '--tls-verify=false',
        remote('pod/other:v1'),
      ]);
      return stderr;
    });
    assert.equal((await inspectRaw(client, 'pod/other:v1')).digest, pushed);
  });

  test('copy --all: podman manifest push --all of a two-platform list', async () => {
    // Two single-platform images in podman's storage (umoci builds them, skopeo puts them there), one list.
    const list = 'localhost/pod-multi-list';
    await podman(['manifest', 'create', list]);
    for (const arch of ['amd64', 'arm64']) {
      const rootfs = join(work, `rootfs-${arch}`);
      await writeRootfs(rootfs, { 'etc/arch': `${arch}\n`, 'data/blob.bin': randomBytes(64 * 1024) });
      const layout = join(work, `layout-${arch}`);
      await umociImage(client, layout, arch, { rootfs, arch, labels: { k: 'v' } });
      await skopeo(client, [
        'copy',
        `oci:${layout}:${arch}`,
        `containers-storage:localhost/pod-multi:${arch}`,
      ]);
      await podman(['manifest', 'add', list, `containers-storage:localhost/pod-multi:${arch}`]);
    }
    const digestFile = join(work, 'multi.digest');
    await podman([
      'manifest',
      'push',
      '--all',
      '--tls-verify=false',
      '--format',
      'oci',
      '--digestfile',
      digestFile,
      list,
      `docker://${remote('pod/multi:v1')}`,
    ]);
    const pushedList = await readDigestFile(digestFile);
    assert.equal((await inspectRaw(client, 'pod/multi:v1')).digest, pushedList);
    await expectPushedIndex(berth(), {
      repo: 'pod/multi',
      tag: 'v1',
      digest: pushedList,
      indexType: MediaType.ociIndex,
      childType: MediaType.ociManifest,
      architectures: ['amd64', 'arm64'],
      labels: { k: 'v' },
    });
    await expectCopyAllKeepsDigests(
      berth(),
      { repo: 'pod/multi', tag: 'v1' },
      { repo: 'pod/copied', tag: 'v1' },
    );
  });

  test('podman save as docker-archive and oci-archive, load back, push again', async () => {
    const dockerArchive = join(work, 'saved-docker.tar');
    const ociArchive = join(work, 'saved-oci.tar');
    await podman(['save', '--format', 'docker-archive', '-o', dockerArchive, remote('pod/app:v1')]);
    await podman(['save', '--format', 'oci-archive', '-o', ociArchive, remote('pod/app:v1')]);
    await podman(['rmi', '-a', '-f']);
    await runFailing(client, 'podman', ['image', 'exists', remote('pod/app:v1')]);

    await podman(['load', '-i', dockerArchive]);
    const fromDocker = await inspect(remote('pod/app:v1'));
    assert.equal(fromDocker.Id, configId(), 'docker-archive round trip changed the image');
    await podman(['tag', remote('pod/app:v1'), remote('pod/app:from-docker-archive')]);
    const dockerDigestFile = join(work, 'docker-archive.digest');
    await podman([
      'push',
      '--tls-verify=false',
      '--format',
      'v2s2',
      '--digestfile',
      dockerDigestFile,
      remote('pod/app:from-docker-archive'),
    ]);
    const dockerPushed = await readDigestFile(dockerDigestFile);
    const dockerRaw = await inspectRaw(client, 'pod/app:from-docker-archive');
    assert.equal(dockerRaw.digest, dockerPushed);
    const dockerManifest = JSON.parse(dockerRaw.bytes.toString('utf8')) as ImageManifest;
    assert.equal(dockerManifest.mediaType, MediaType.dockerManifest);
    assert.equal(dockerManifest.config.digest, source.manifest.config.digest);

    await podman(['rmi', '-a', '-f']);
    await podman(['load', '-i', ociArchive]);
    const fromOci = await inspect(remote('pod/app:v1'));
    assert.equal(fromOci.Id, configId(), 'oci-archive round trip changed the image');
    // The archive's own manifest goes to Berth unchanged.
    const { stdout: archived } = await skopeo(client, ['inspect', '--raw', `oci-archive:${ociArchive}`]);
    const ociDigestFile = join(work, 'oci-archive.digest');
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      '--digestfile',
      ociDigestFile,
      `oci-archive:${ociArchive}`,
      `docker://${remote('pod/app:from-oci-archive')}`,
    ]);
    const ociPushed = await readDigestFile(ociDigestFile);
    const ociRaw = await inspectRaw(client, 'pod/app:from-oci-archive');
    assert.equal(ociRaw.digest, ociPushed);
    assert.equal(ociRaw.bytes.toString('utf8'), archived);

    const { stdout } = await skopeo(client, [
      'list-tags',
      '--tls-verify=false',
      `docker://${remote('pod/app')}`,
    ]);
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags.sort(), [
      'from-docker-archive',
      'from-oci-archive',
      'v1',
    ]);
  });
});

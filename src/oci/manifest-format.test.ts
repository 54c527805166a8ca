import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from './errors.js';
import { convertManifest, formatOf } from './manifest-format.js';
import { MediaType } from './media-types.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

test('Docker schema 2 to OCI and back keeps everything but the media types', () => {
  const docker = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: D('a'), size: 10 },
    layers: [
      { mediaType: MediaType.dockerLayerGzip, digest: D('b'), size: 20 },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: D('c'), size: 30 },
      {
        mediaType: MediaType.dockerForeignLayerGzip,
        digest: D('d'),
        size: 40,
        urls: ['https://example.invalid/x'],
      },
    ],
  };
  const oci = convertManifest(docker, 'oci');
  assert.equal(oci.mediaType, MediaType.ociManifest);
  assert.deepEqual(
    (oci.layers as { mediaType: string }[]).map((l) => l.mediaType),
    [MediaType.ociLayerGzip, MediaType.ociLayerTar, MediaType.ociLayerNondistributableGzip],
  );
  assert.deepEqual((oci.layers as { urls?: string[] }[])[2]?.urls, ['https://example.invalid/x']);
  assert.deepEqual(convertManifest(oci, 'v2s2'), docker);
  assert.equal(formatOf(MediaType.dockerManifestList), 'v2s2');
});

test('an index takes its converted children', () => {
  const list = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifestList,
    manifests: [
      {
        mediaType: MediaType.dockerManifest,
        digest: D('1'),
        size: 5,
        platform: { os: 'linux', architecture: 'arm64' },
      },
    ],
  };
  const index = convertManifest(
    list,
    'oci',
    new Map([[D('1'), { digest: D('2'), size: 6, mediaType: MediaType.ociManifest }]]),
  );
  assert.deepEqual(index.manifests, [
    {
      mediaType: MediaType.ociManifest,
      digest: D('2'),
      size: 6,
      platform: { os: 'linux', architecture: 'arm64' },
    },
  ]);
});

test('OCI-only content cannot become Docker schema 2', () => {
  const zstd = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: D('a'), size: 1 },
    layers: [{ mediaType: MediaType.ociLayerZstd, digest: D('b'), size: 2 }],
  };
  assert.throws(
    () => convertManifest(zstd, 'v2s2'),
    (e: unknown) => e instanceof BerthError && e.code === 'FORMAT_UNSUPPORTED',
  );
  assert.throws(
    () => convertManifest({ ...zstd, layers: [], artifactType: 'application/x' }, 'v2s2'),
    /artifact/,
  );
});

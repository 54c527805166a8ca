// openImageSource dispatches on the transport; inputs are written by hand, so no client tools are needed.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../../../test/support/containers.js';
import { drain, expectBerthError, tarBytes } from '../../../test/support/source-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { parseImageLocation } from '../image-location.js';
import { DOCKER_LAYER_TAR } from './image-source.js';
import { openImageSource } from './open-image-source.js';

describe('openImageSource', () => {
  let work: string;
  const layer = tarBytes([{ name: 'etc/hello.txt', data: 'hello\n' }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    }),
  );
  const ociManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: sha256(layer), size: layer.length }],
    }),
  );
  const layoutFiles = [
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    {
      name: 'index.json',
      data: JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest: sha256(ociManifest),
            size: ociManifest.length,
            annotations: { 'org.opencontainers.image.ref.name': 'v1' },
          },
        ],
      }),
    },
    ...[layer, config, ociManifest].map((data) => ({ name: `blobs/sha256/${sha256(data).slice(7)}`, data })),
  ];

  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });

  before(async () => {
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-open-source-');
    await writeFile(
      join(work, 'docker.tar'),
      tarBytes([
        { name: 'layer.tar', data: layer },
        { name: 'config.json', data: config },
        {
          name: 'manifest.json',
          data: JSON.stringify([{ Config: 'config.json', RepoTags: ['team/app:v1'], Layers: ['layer.tar'] }]),
        },
      ]),
    );
    await writeFile(join(work, 'oci.tar'), tarBytes(layoutFiles));
    for (const file of layoutFiles) {
      await mkdir(join(work, 'layout', file.name, '..'), { recursive: true });
      await writeFile(join(work, 'layout', file.name), file.data);
    }
  });

  test('docker-archive: by tag, by index, or the only image', async () => {
    for (const suffix of [':team/app:v1', ':@0', '']) {
      const source = await openImageSource(parseImageLocation(`docker-archive:${work}/docker.tar${suffix}`));
      try {
        assert.equal(source.description, `docker-archive:${work}/docker.tar${suffix}`);
        const top = await source.topManifest();
        const manifest = JSON.parse(top.bytes.toString('utf8')) as {
          config: Descriptor;
          layers: Descriptor[];
        };
        assert.equal(manifest.config.digest, sha256(config));
        assert.deepEqual(manifest.layers, [
          { mediaType: DOCKER_LAYER_TAR, size: layer.length, digest: sha256(layer) },
        ]);
        for (const d of [manifest.config, ...manifest.layers]) {
          assert.equal((await drain(await source.openBlob(d))).digest, d.digest);
        }
      } finally {
        await source.close();
      }
    }
  });

  test('oci and oci-archive: the layout’s manifest, byte for byte', async () => {
    for (const location of [
      `oci:${work}/layout:v1`,
      `oci:${work}/layout`,
      `oci-archive:${work}/oci.tar:v1`,
    ]) {
      const source = await openImageSource(parseImageLocation(location));
      try {
        assert.equal(source.description, location);
        const top = await source.topManifest();
        assert.deepEqual(top.bytes, ociManifest);
        assert.equal(top.mediaType, MediaType.ociManifest);
        const manifest = JSON.parse(top.bytes.toString('utf8')) as {
          config: Descriptor;
          layers: Descriptor[];
        };
        for (const d of [manifest.config, ...manifest.layers]) {
          assert.equal((await drain(await source.openBlob(d))).digest, d.digest);
        }
      } finally {
        await source.close();
      }
    }
  });

  test('docker-daemon goes to the engine named by the options', async () => {
    const error = await expectBerthError(
      openImageSource(parseImageLocation('docker-daemon:team/app:v1'), {
        dockerHost: `unix://${work}/no-engine.sock`,
      }),
      'DOCKER_UNREACHABLE',
    );
    assert.match(error.message, /no-engine\.sock/);
    await expectBerthError(
      openImageSource(parseImageLocation('docker-daemon:team/app:v1'), {
        env: { DOCKER_HOST: 'npipe:////./pipe/x' },
      }),
      'DOCKER_HOST_INVALID',
    );
  });

  test('a registry is not a source yet', async () => {
    await expectBerthError(
      openImageSource(parseImageLocation('docker://localhost:5000/team/app:v1')),
      'UNSUPPORTED_SOURCE',
    );
  });
});

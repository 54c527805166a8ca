// A `docker save`-style archive whose one layer is an uncompressed tar of text files (a layer that compresses
// like a real one), for the zstd push tests (importer and podman interop).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClientEnv, sha256, skopeo } from '../support/containers.js';
import { nonce, readDockerArchive } from './importer-fixtures.js';

/** Lines of words from a seeded generator, and a nonce so no cache of an earlier run matches. */
function text(size: number): string {
  let state = 4242;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const lines: string[] = [`nonce ${nonce()}`];
  let length = 0;
  while (length < size) {
    const line = Array.from({ length: 4 + random(10) }, () => `w${random(5000).toString(36)}`).join(' ');
    lines.push(line);
    length += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

export interface ZstdTestImage {
  /** `docker-archive:PATH` */
  location: string;
  layerSize: number;
  diffId: string;
  configDigest: string;
  /** A file in the layer and its content. */
  file: { path: string; content: string };
}

/** An OCI layout with one uncompressed layer, turned into a docker-archive by skopeo (as `docker save` has it). */
export async function uncompressedDockerArchive(
  client: ClientEnv,
  dir: string,
  size: number,
): Promise<ZstdTestImage> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  const hello = `hello from a zstd layer ${nonce()}\n`;
  await writeFile(join(rootfs, 'etc', 'hello.txt'), hello);
  await writeFile(join(rootfs, 'etc', 'words.txt'), text(size));
  const tar = join(dir, 'layer.tar');
  const made = spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  assert.equal(made.status, 0, made.stderr.toString());
  const layer = await readFile(tar);
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = (bytes: Buffer): Promise<void> => writeFile(join(blobs, sha256(bytes).slice(7)), bytes);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  await Promise.all([put(layer), put(config), put(manifest)]);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'v1' },
        },
      ],
    }),
  );
  const archive = join(dir, 'image.tar');
  await skopeo(client, ['copy', `oci:${layout}:v1`, `docker-archive:${archive}:localhost/zstd/app:v1`]);
  // skopeo keeps the config's bytes; read them back all the same, as a push must preserve them.
  const saved = await readDockerArchive(client, archive);
  assert.deepEqual(saved.diffIds, [sha256(layer)]);
  return {
    location: `docker-archive:${archive}`,
    layerSize: layer.length,
    diffId: sha256(layer),
    configDigest: saved.configDigest,
    file: { path: 'etc/hello.txt', content: hello },
  };
}

// `berth push --compression zstd`: the layer goes up as one zstd frame (compressed on every core by zstd-napi)
// under the OCI zstd media type, the Docker manifest of a docker-archive becomes OCI, zstd's own CLI checks
// the frame, and skopeo pulls it back with every digest and the diff_id right.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import { type ClientEnv, makeClientEnv, requireTools, sha256, skopeo } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import { assertOneLineFailure, type BerthEnv, berth, berthEnv, MiB, pushJson } from './importer-fixtures.js';
import { uncompressedDockerArchive, type ZstdTestImage } from './zstd-image.js';

const gate = await requireTools('skopeo', 'tar', 'zstd');

describe('berth push --compression zstd', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let client: ClientEnv;
  let env: BerthEnv;
  let image: ZstdTestImage;

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-zstd-');
    server = await startTestServer({ data: join(work, 'berth-data') });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    env = await berthEnv(join(work, 'berth'));
    image = await uncompressedDockerArchive(client, join(work, 'image'), 6 * MiB);
  });

  after(async () => {
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('zstd -t accepts the layer; skopeo pulls it back to the diff_id; a re-push sends nothing', async () => {
    assert.ok(server);
    const dest = `docker://${server.hostPort}/zs/text:v1`;
    const report = await pushJson(env, image.location, dest, ['--compression', 'zstd']);
    assert.equal(report.mediaType, MediaType.ociManifest, 'a Docker manifest with a zstd layer becomes OCI');

    const out = join(work, 'pulled');
    await skopeo(client, ['copy', '--src-tls-verify=false', dest, `dir:${out}`]);
    const manifestBytes = await readFile(join(out, 'manifest.json'));
    assert.equal(sha256(manifestBytes), report.digest);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      mediaType: string;
      config: { digest: string };
      layers: { mediaType: string; digest: string; size: number }[];
    };
    assert.equal(manifest.config.digest, image.configDigest, 'the config is kept byte for byte');
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0] as { mediaType: string; digest: string; size: number };
    assert.equal(layer.mediaType, MediaType.ociLayerZstd);
    const blob = await readFile(join(out, layer.digest.slice(7)));
    assert.equal(sha256(blob), layer.digest);
    assert.equal(blob.length, layer.size);
    assert.ok(blob.length < image.layerSize / 2, `compressed ${blob.length} of ${image.layerSize}`);

    // Debian's zstd checks the frame and its content checksum, and decompresses it to the diff_id.
    const checked = spawnSync('zstd', ['-t', '-q'], { input: blob });
    assert.equal(checked.status, 0, checked.stderr.toString());
    const tar = spawnSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 64 * MiB });
    assert.equal(tar.status, 0, tar.stderr.toString());
    assert.equal(sha256(tar.stdout), image.diffId);

    // skopeo (Go's zstd) decompresses it and finds the diff_id too.
    const plain = join(work, 'decompressed');
    await skopeo(client, ['copy', '--src-tls-verify=false', '--dest-decompress', dest, `dir:${plain}`]);
    assert.equal(sha256(await readFile(join(plain, image.diffId.slice(7)))), image.diffId);

    // The blob-info cache remembers the zstd blob: pushing again finds it at the registry, compresses nothing.
    const again = await pushJson(env, image.location, `docker://${server.hostPort}/zs/text:v2`, [
      '--compression',
      'zstd',
    ]);
    assert.equal(again.digest, report.digest);
    assert.equal(again.uploadedBytes, 0);
  });

  test('gzip stays the default: the same archive pushed without a flag keeps its Docker manifest', async () => {
    assert.ok(server);
    const report = await pushJson(env, image.location, `docker://${server.hostPort}/zs/text:gz`);
    assert.equal(report.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });

  test('--format v2s2 with zstd is a one-line usage error; so is a zstd level out of range', async () => {
    assert.ok(server);
    const dest = `docker://${server.hostPort}/zs/text:bad`;
    const v2s2 = await berth(env, [
      'push',
      '--compression',
      'zstd',
      '--format',
      'v2s2',
      image.location,
      dest,
    ]);
    assertOneLineFailure(v2s2, /zstd/, /Docker schema 2/);
    const level = await berth(env, [
      'push',
      '--compression',
      'zstd',
      '--compression-level',
      '20',
      image.location,
      dest,
    ]);
    assertOneLineFailure(level, /--compression-level: expected 1 to 19/);
  });

  test('without the optional zstd-napi, --compression zstd is a one-line error that names it', async () => {
    assert.ok(server);
    const preload = fileURLToPath(new URL('./without-zstd-napi.cjs', import.meta.url));
    const r = await berth(
      env,
      ['push', '--compression', 'zstd', image.location, `docker://${server.hostPort}/zs/text:missing`],
      { env: { NODE_OPTIONS: `--require ${preload}` } },
    );
    assertOneLineFailure(
      r,
      /--compression zstd needs the optional package zstd-napi, which is not installed/,
    );
  });
});

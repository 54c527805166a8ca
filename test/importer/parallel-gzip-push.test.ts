// `berth push` of an uncompressed layer large enough to be gzipped in parallel blocks (client/parallel-gzip.ts)
// into Berth; skopeo pulls it back and Go's gzip reader (skopeo --dest-decompress) must find the diff_id.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { type ClientEnv, makeClientEnv, requireTools, run, sha256, skopeo } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';
import { berthEnv, MiB, nonce, pushJson, verifyWithSkopeo } from './importer-fixtures.js';

const gate = await requireTools('skopeo', 'tar', 'gzip');
const podmanGate = await requireTools('podman', 'tar', 'gzip');

/** Lines of words from a seeded generator: text that compresses like a layer's files, and a nonce. */
function text(size: number): string {
  let state = 12345;
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

/** An OCI layout whose one layer is an uncompressed tar (as `docker save` holds them), and its expectation. */
async function uncompressedLayout(dir: string, size: number) {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'usr', 'share', 'doc'), { recursive: true });
  await writeFile(join(rootfs, 'usr', 'share', 'doc', 'words.txt'), text(size));
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
  return {
    location: `oci:${layout}:v1`,
    layerSize: layer.length,
    expected: { configDigest: sha256(config), diffIds: [sha256(layer)] },
  };
}

describe('berth push gzips a large layer in parallel blocks', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let client: ClientEnv;

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-pgzip-');
    server = await startTestServer({ data: join(work, 'berth-data') });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
  });

  after(async () => {
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('skopeo pulls it back; Go and gzip read the layer to its diff_id', async () => {
    assert.ok(server);
    const image = await uncompressedLayout(join(work, 'image'), 6 * MiB);
    assert.ok(image.layerSize > 4 * MiB, 'the layer spans several blocks');
    const env = await berthEnv(join(work, 'berth'));
    const report = await pushJson(env, image.location, `docker://${server.hostPort}/gz/text:v1`, [
      '--compression',
      'gzip',
    ]);
    const registry = { name: 'berth', hostPort: server.hostPort, url: server.url };
    // Node's gunzip and every digest and size, as for every push.
    const pulled = await verifyWithSkopeo(client, registry, 'gz/text:v1', report, image.expected, work);
    const layer = pulled.manifest.layers[0];
    assert.ok(
      layer && /gzip/.test(layer.mediaType) && layer.size < image.layerSize / 2,
      JSON.stringify(layer),
    );

    // Go's gzip reader (skopeo decompressing into dir:) yields the diff_id.
    const out = join(work, 'decompressed');
    await skopeo(client, [
      'copy',
      '--src-tls-verify=false',
      '--dest-decompress',
      `docker://${server.hostPort}/gz/text:v1`,
      `dir:${out}`,
    ]);
    const diffId = image.expected.diffIds[0] as string;
    assert.equal(sha256(await readFile(join(out, diffId.slice(7)))), diffId);

    // Debian's gzip checks the stream, its CRC and its size.
    const blob = await (await fetch(`${server.url}/v2/gz/text/blobs/${layer.digest}`)).arrayBuffer();
    const checked = spawnSync('gzip', ['-t'], { input: Buffer.from(blob) });
    assert.equal(checked.status, 0, checked.stderr.toString());
  });
});

describe('podman pulls a layer berth push gzipped in parallel blocks', { skip: podmanGate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let client: ClientEnv;

  before(async () => {
    podmanGate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-pgzip-podman-');
    server = await startTestServer({ data: join(work, 'berth-data') });
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
  });

  after(async () => {
    await server?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('podman pull, then podman save: the file in the layer is the one pushed; gzip -t passes on the blob', async () => {
    assert.ok(server);
    const dir = join(work, 'image');
    const image = await uncompressedLayout(dir, 6 * MiB);
    const words = await readFile(join(dir, 'rootfs', 'usr', 'share', 'doc', 'words.txt'));
    const env = await berthEnv(join(work, 'berth'));
    const report = await pushJson(env, image.location, `docker://${server.hostPort}/gz/podman:v1`, [
      '--compression',
      'gzip',
    ]);
    const manifest = (await (
      await fetch(`${server.url}/v2/gz/podman/manifests/v1`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { layers: { digest: string; mediaType: string; size: number }[] };
    const layer = manifest.layers[0];
    assert.ok(
      layer && /gzip/.test(layer.mediaType) && layer.size < image.layerSize / 2,
      JSON.stringify(layer),
    );
    assert.equal(report.digest.length > 0, true);

    const blob = await (await fetch(`${server.url}/v2/gz/podman/blobs/${layer.digest}`)).arrayBuffer();
    const checked = spawnSync('gzip', ['-t'], { input: Buffer.from(blob) });
    assert.equal(checked.status, 0, checked.stderr.toString());

    const reference = `${server.hostPort}/gz/podman:v1`;
    await run(client, 'podman', ['pull', '--tls-verify=false', reference], { timeout: 120_000 });
    // The diff_id podman computed while it unpacked the layer is the uncompressed tar's.
    const inspected = JSON.parse((await run(client, 'podman', ['image', 'inspect', reference])).stdout) as {
      RootFS: { Layers: string[] };
    }[];
    assert.deepEqual(inspected[0]?.RootFS.Layers, image.expected.diffIds);

    // podman's own copy of the layer, out of its storage, holds the file as it was pushed.
    const archive = join(work, 'saved.tar');
    await run(client, 'podman', ['save', '--format', 'docker-archive', '-o', archive, reference], {
      timeout: 120_000,
    });
    const unpacked = join(work, 'saved');
    await mkdir(unpacked, { recursive: true });
    const untar = spawnSync('tar', ['-xf', archive, '-C', unpacked]);
    assert.equal(untar.status, 0, untar.stderr.toString());
    const saved = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as {
      Layers: string[];
    }[];
    const layerTar = saved[0]?.Layers[0];
    assert.ok(layerTar, 'podman save wrote a layer');
    const file = spawnSync('tar', ['-xOf', join(unpacked, layerTar), './usr/share/doc/words.txt'], {
      maxBuffer: 64 * MiB,
    });
    assert.equal(file.status, 0, file.stderr.toString());
    assert.ok(file.stdout.equals(words), 'the file podman holds is the file pushed');
  });
});

// `push --policy` in one pass: the admission gate walks each layer from the copy's own reading of it, so
// the source is opened once per layer; nothing is sent before the verdict, so a refused image sends nothing. Real Berth, real
// files, real tar layers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MiB } from '../../test/importer/importer-fixtures.js';
import { startTestServer } from '../../test/support/registry-server.js';
import { tempDir } from '../../test/support/temp.js';
import type { RunningServer } from '../main/server.js';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { parseAdmissionPolicy } from '../policy/admission-policy.js';
import { BlobInfoCache } from './blob-info-cache.js';
import type { CopyOptions } from './copy-image.js';
import { RegistryDestination } from './destinations/registry-destination.js';
import { copyThroughGate } from './gated-copy.js';
import { RegistryClient } from './registry-client.js';
import type { ImageSource } from './sources/image-source.js';
import { openOciLayout } from './sources/oci-layout-source.js';
import { authMiddleware } from './transport/auth-middleware.js';
import { httpTransport } from './transport/http-transport.js';
import { retryMiddleware } from './transport/retry-middleware.js';
import { compose } from './transport/transport.js';
import { UploadState } from './upload-state.js';

const sha256 = (bytes: Buffer): Digest =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

/** Text that compresses like a layer's files: a few MiB make a layer the parallel compressor takes. */
function text(size: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `line ${i} ${(i * 7919).toString(36)} ${(i * 104729).toString(16)} the quick brown fox`;
    lines.push(line);
    length += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** An OCI layout whose layers are uncompressed tars of the given files, one layer per entry. */
async function layoutOf(dir: string, layers: Record<string, string>[]): Promise<string> {
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer): Promise<Digest> => {
    await writeFile(join(blobs, sha256(bytes).slice(7)), bytes);
    return sha256(bytes);
  };
  const descriptors = [];
  for (const [i, files] of layers.entries()) {
    const root = join(dir, `rootfs-${i}`);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), content);
    }
    const made = spawnSync('tar', ['-C', root, '-cf', join(dir, `layer-${i}.tar`), '.']);
    assert.equal(made.status, 0, made.stderr.toString());
    const tar = await readFile(join(dir, `layer-${i}.tar`));
    descriptors.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: await put(tar),
      size: tar.length,
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await put(config),
        size: config.length,
      },
      layers: descriptors,
    }),
  );
  const manifestDigest = await put(manifest);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'v1' },
        },
      ],
    }),
  );
  return layout;
}

/** The source, with the number of times each blob was opened. */
function counted(source: ImageSource): { source: ImageSource; opens: Map<string, number> } {
  const opens = new Map<string, number>();
  return {
    opens,
    source: {
      description: source.description,
      topManifest: () => source.topManifest(),
      manifest: (digest) => source.manifest(digest),
      close: () => source.close(),
      openBlob: (descriptor, options) => {
        opens.set(descriptor.digest, (opens.get(descriptor.digest) ?? 0) + 1);
        return source.openBlob(descriptor, options);
      },
    },
  };
}

let berth: RunningServer;
let work: string;

before(async () => {
  work = await tempDir({ after });
  berth = await startTestServer({ data: join(work, 'berth') });
});
after(async () => {
  await berth.close();
});

async function destination(name: string, cacheDir: string) {
  const base = httpTransport({ tls: () => ({ verify: true }) });
  const transport = compose(
    base,
    retryMiddleware({ baseDelay: 10 }),
    authMiddleware({ credentials: async () => undefined, tokenTransport: base }),
  );
  const repo = new RegistryClient(transport, { allowHttp: () => true }).repository(berth.hostPort, name);
  const cache = await BlobInfoCache.open(cacheDir);
  const dest = new RegistryDestination(repo, {
    cache,
    state: await UploadState.open(cacheDir),
    chunkSize: 4 * MiB,
    smallBlobMax: MiB,
  });
  const options: CopyOptions = {
    all: false,
    compression: 'gzip',
    compressionLevel: 1,
    // Fewer places than blobs: blobs waiting for the verdict must not hold them (or the gate never gets
    // the later layers).
    maxConcurrent: 2,
    cacheDir,
    cache,
  };
  return { dest, options, close: base.close };
}

const policy = parseAdmissionPolicy(
  'version: 1\nlayers:\n  forbiddenFiles: ["**/id_rsa"]\n',
  'test-policy.yaml',
);
const refusal = () => new BerthError('POLICY_REFUSED', 'refused');

test('a gated push reads each layer once: the gate walks the bytes the compressor reads', async (t) => {
  const dir = await tempDir(t);
  const layout = await layoutOf(dir, [
    { 'usr/share/doc/words.txt': text(5 * MiB) },
    { 'etc/motd': 'hello\n', 'usr/share/doc/more.txt': text(3 * MiB) },
    { 'etc/hostname': 'small\n' },
    { 'usr/share/doc/last.txt': text(MiB) },
  ]);
  const { source, opens } = counted(await openOciLayout(layout, 'v1'));
  t.after(() => source.close());
  const { dest, options, close } = await destination('gated/pass', join(dir, 'cache'));
  t.after(close);
  const manifest = JSON.parse((await source.topManifest()).bytes.toString()) as {
    layers: { digest: string }[];
  };

  const { report, result } = await copyThroughGate(source, dest, ['v1'], options, {
    gate: { policy },
    refusal,
  });
  assert.equal(report.refused, false);
  assert.ok(report.counts.pass > 0, 'the file rule was checked');
  for (const layer of manifest.layers)
    assert.equal(
      opens.get(layer.digest),
      1,
      `layer ${layer.digest} was opened ${opens.get(layer.digest)} times`,
    );
  const res = await fetch(`${berth.url}/v2/gated/pass/manifests/v1`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), result.digest);
});

test('a refused image sends nothing: no blob, no manifest, no tag', async (t) => {
  const dir = await tempDir(t);
  const layout = await layoutOf(dir, [
    { 'usr/share/doc/words.txt': text(5 * MiB) },
    { 'root/.ssh/id_rsa': 'not really a key\n' },
  ]);
  const { source, opens } = counted(await openOciLayout(layout, 'v1'));
  t.after(() => source.close());
  const { dest, options, close } = await destination('gated/refused', join(dir, 'cache'));
  t.after(close);
  const manifest = JSON.parse((await source.topManifest()).bytes.toString()) as {
    layers: { digest: string }[];
  };
  let reported: boolean | undefined;

  await assert.rejects(
    copyThroughGate(source, dest, ['v1'], options, {
      gate: { policy },
      refusal,
      onReport: (report) => {
        reported = report.refused;
      },
    }),
    (error: unknown) => error instanceof BerthError && error.code === 'POLICY_REFUSED',
  );
  assert.equal(reported, true, 'the report said refused');
  for (const layer of manifest.layers)
    assert.ok((opens.get(layer.digest) ?? 0) <= 1, `layer ${layer.digest} was opened more than once`);
  const tagged = await fetch(`${berth.url}/v2/gated/refused/manifests/v1`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(tagged.status, 404, 'not tagged');
  // Nothing is sent before the verdict: not even a blob made the repository exist.
  const tags = await fetch(`${berth.url}/v2/gated/refused/tags/list`);
  assert.equal(tags.status, 404, 'nothing reached the registry');
});

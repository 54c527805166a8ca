// Inputs for the image source tests: OCI layouts built with umoci or written here without any tool, `docker
// save`-style archives assembled the way Docker writes them, hand-made tar headers, and checks on blob streams.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import type { ImageSource } from '../../src/client/sources/image-source.js';
import { BerthError } from '../../src/oci/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  blobPath,
  type ClientEnv,
  type Descriptor,
  type ImageManifest,
  makeClientEnv,
  readLayoutRef,
  run,
  sha256,
  umociImage,
  writeRootfs,
} from './containers.js';
import { tempDir } from './temp.js';

/** Awaits `action` and asserts it fails with a BerthError of `code`; returns the error. */
export async function expectBerthError(
  action: Promise<unknown> | (() => unknown),
  code: string,
): Promise<BerthError> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    assert.ok(error instanceof BerthError, `expected a BerthError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    assert.ok(!error.message.includes('\n'), `the message should be one line: ${error.message}`);
    return error;
  }
  assert.fail(`expected a BerthError ${code}, but it succeeded`);
}

/** Reads a stream to its end, hashing as it goes (never holding the bytes); fails if the stream fails. */
export async function drain(stream: Readable): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, digest: `sha256:${hash.digest('hex')}` };
}

/** Opens an image source, hands it to `use`, and closes it whatever happens. */
export async function withSource<T>(
  opening: Promise<ImageSource>,
  use: (source: ImageSource) => Promise<T>,
): Promise<T> {
  const source = await opening;
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

/** Reads a small stream whole. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads a stream expected to fail: the error and how many bytes arrived before it. */
export async function failureOf(stream: Readable): Promise<{ error: unknown; received: number }> {
  let received = 0;
  try {
    for await (const chunk of stream) received += (chunk as Buffer).length;
  } catch (error) {
    return { error, received };
  }
  assert.fail(`the stream ended without an error after ${received} bytes`);
}

/**
 * A work folder for a suite (removed by running `cleanups` in its `after`), and a client environment for the
 * tools run there (tar, and skopeo, podman, umoci or buildah where a suite needs them).
 */
export async function sourceWork(
  cleanups: (() => unknown)[],
  prefix: string,
): Promise<{ work: string; client: ClientEnv }> {
  const work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, prefix);
  return { work, client: await makeClientEnv(join(work, 'env'), '127.0.0.1:1') };
}

// ---- OCI layouts made with umoci ----

export interface LayoutImage {
  tag: string;
  /** The manifest as umoci wrote it. */
  digest: string;
  manifest: ImageManifest;
  config: { digest: string; bytes: Buffer };
  /** Layers as stored in the layout (gzip). */
  layers: Descriptor[];
  /** Digests of the uncompressed layers, from the config. */
  diffIds: string[];
}

export async function readLayoutImage(layout: string, tag: string): Promise<LayoutImage> {
  const ref = await readLayoutRef(layout, tag);
  const manifest = JSON.parse(ref.bytes.toString('utf8')) as ImageManifest;
  const configBytes = await readFile(blobPath(layout, manifest.config.digest));
  const config = JSON.parse(configBytes.toString('utf8')) as { rootfs: { diff_ids: string[] } };
  return {
    tag,
    digest: ref.digest,
    manifest,
    config: { digest: manifest.config.digest, bytes: configBytes },
    layers: manifest.layers,
    diffIds: config.rootfs.diff_ids,
  };
}

/**
 * An OCI layout with two images built by umoci: `v1` (amd64, two layers: text files, then 300 KiB of
 * random bytes so no blob cache of another run matches) and `v2` (arm64, one layer).
 */
export async function buildTestLayout(
  client: ClientEnv,
  dir: string,
): Promise<{ layout: string; v1: LayoutImage; v2: LayoutImage }> {
  const layout = join(dir, 'layout');
  const rootfs1 = join(dir, 'rootfs1');
  const rootfs2 = join(dir, 'rootfs2');
  const rootfs3 = join(dir, 'rootfs3');
  await writeRootfs(rootfs1, { 'etc/hello.txt': 'hello from the sources test\n', 'etc/motd': 'berth\n' });
  await writeRootfs(rootfs2, { 'data/random.bin': randomBytes(300 * 1024) });
  await writeRootfs(rootfs3, { 'etc/second.txt': `second ${Date.now()}\n` });
  await umociImage(client, layout, 'v1', { rootfs: rootfs1, arch: 'amd64', labels: { k: 'v' } });
  // A second layer on v1.
  await run(client, 'umoci', ['insert', '--image', `${layout}:v1`, rootfs2, '/']);
  await umociImage(client, layout, 'v2', { rootfs: rootfs3, arch: 'arm64' });
  return { layout, v1: await readLayoutImage(layout, 'v1'), v2: await readLayoutImage(layout, 'v2') };
}

/** Writes `bytes` into the layout's blob folder under their digest; returns the descriptor. */
async function writeBlob(layout: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const digest = sha256(bytes);
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** One image of a layout written without umoci: gzip layers of `layers`, an amd64/arm64 config, a tagged manifest. */
async function writeLayoutImage(
  layout: string,
  tag: string,
  arch: string,
  layers: Record<string, string | Buffer>[],
  labels: Record<string, string> = {},
): Promise<Descriptor> {
  const diffIds: string[] = [];
  const layerDescriptors: Descriptor[] = [];
  for (const files of layers) {
    const tar = tarBytes(Object.entries(files).map(([name, data]) => ({ name, data })));
    diffIds.push(sha256(tar));
    layerDescriptors.push(await writeBlob(layout, MediaType.ociLayerGzip, gzipSync(tar)));
  }
  const config = await writeBlob(
    layout,
    MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({
        created: '2026-01-01T00:00:00Z',
        architecture: arch,
        os: 'linux',
        config: { Labels: labels },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'berth source fixtures' })),
      }),
    ),
  );
  // Like umoci's, the manifest has no mediaType field: the type is in index.json's descriptor.
  const manifest = await writeBlob(
    layout,
    MediaType.ociManifest,
    Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: layerDescriptors })),
  );
  return { ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } };
}

/**
 * The images of `buildTestLayout` (v1: amd64, a layer of text files and a layer of 300 KiB of random bytes;
 * v2: arm64, one layer), written here without umoci: for the tests that read layouts and archives and need
 * no real tool to have made them.
 */
export async function writeTestLayout(
  dir: string,
): Promise<{ layout: string; v1: LayoutImage; v2: LayoutImage }> {
  const layout = join(dir, 'layout');
  const v1 = await writeLayoutImage(
    layout,
    'v1',
    'amd64',
    [
      { 'etc/hello.txt': 'hello from the sources test\n', 'etc/motd': 'berth\n' },
      { 'data/random.bin': randomBytes(300 * 1024) },
    ],
    { k: 'v' },
  );
  const v2 = await writeLayoutImage(layout, 'v2', 'arm64', [{ 'etc/second.txt': `second ${Date.now()}\n` }]);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [v1, v2] }),
  );
  return { layout, v1: await readLayoutImage(layout, 'v1'), v2: await readLayoutImage(layout, 'v2') };
}

/** Decompresses a gzip layer of a layout to `out`; returns the uncompressed digest and size. */
export async function gunzipBlob(
  layout: string,
  digest: string,
  out: string,
): Promise<{ digest: string; size: number }> {
  await pipeline(createReadStream(blobPath(layout, digest)), createGunzip(), createWriteStream(out));
  return { digest: sha256(await readFile(out)), size: (await stat(out)).size };
}

/** `tar -cf out -C dir names…` (GNU tar). */
export async function tarFolder(
  client: ClientEnv,
  dir: string,
  out: string,
  names: string[] = ['.'],
  extra: string[] = [],
) {
  await run(client, 'tar', ['-cf', out, ...extra, '-C', dir, ...names]);
}

/**
 * A `docker save` archive as Docker 25+ writes it (moby image/tarexport): an OCI layout (oci-layout,
 * index.json naming the image with `io.containerd.image.name` and `org.opencontainers.image.ref.name`, an
 * OCI manifest of uncompressed layers) plus manifest.json whose Config and Layers are `blobs/sha256/<hex>`,
 * and the legacy `repositories` file.
 */
export async function writeDocker25Archive(
  client: ClientEnv,
  layout: string,
  image: LayoutImage,
  repoTag: string,
  out: string,
): Promise<{ manifestDigest: string }> {
  const staging = `${out}.d`;
  const blobs = join(staging, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const hex = (digest: string): string => digest.slice('sha256:'.length);
  await writeFile(join(blobs, hex(image.config.digest)), image.config.bytes);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (const layer of image.layers) {
    const temp = join(staging, 'layer.tmp');
    const unpacked = await gunzipBlob(layout, layer.digest, temp);
    await copyFile(temp, join(blobs, hex(unpacked.digest)));
    layers.push({ mediaType: MediaType.ociLayerTar, digest: unpacked.digest, size: unpacked.size });
  }
  await rm(join(staging, 'layer.tmp'));
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: {
        mediaType: MediaType.ociConfig,
        digest: image.config.digest,
        size: image.config.bytes.length,
      },
      layers,
    }),
  );
  const manifestDigest = sha256(manifestBytes);
  await writeFile(join(blobs, hex(manifestDigest)), manifestBytes);
  const [name, tag] = [
    repoTag.slice(0, repoTag.lastIndexOf(':')),
    repoTag.slice(repoTag.lastIndexOf(':') + 1),
  ];
  await writeFile(
    join(staging, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        {
          mediaType: MediaType.ociManifest,
          digest: manifestDigest,
          size: manifestBytes.length,
          annotations: {
            'io.containerd.image.name': `docker.io/${name}:${tag}`,
            'org.opencontainers.image.ref.name': tag,
          },
        },
      ],
    }),
  );
  await writeFile(join(staging, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
  await writeFile(
    join(staging, 'manifest.json'),
    `${JSON.stringify([
      {
        Config: `blobs/sha256/${hex(image.config.digest)}`,
        RepoTags: [repoTag],
        Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
      },
    ])}\n`,
  );
  await writeFile(
    join(staging, 'repositories'),
    `${JSON.stringify({ [name]: { [tag]: hex(layers.at(-1)?.digest ?? '') } })}\n`,
  );
  await tarFolder(client, staging, out, [
    'blobs',
    'index.json',
    'manifest.json',
    'oci-layout',
    'repositories',
  ]);
  return { manifestDigest };
}

/** Creates a symbolic link, making its folder first. */
export async function link(target: string, path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await symlink(target, path);
}

// ---- Hand-made tar headers ----

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

/**
 * One 512-byte tar header block (ustar), with a correct checksum. `size` above 8 GiB - 1 is written in
 * GNU base-256, as GNU tar and Go's archive/tar do.
 */
export function tarHeader(options: {
  name: string;
  size?: number;
  type?: string;
  linkName?: string;
  base256?: boolean;
}): Buffer {
  const block = Buffer.alloc(512);
  const size = options.size ?? 0;
  block.write(options.name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'latin1');
  block.write(octal(0, 8), 108, 'latin1');
  block.write(octal(0, 8), 116, 'latin1');
  if (options.base256 || size > 0o77777777777) {
    block[124] = 0x80;
    let rest = size;
    for (let i = 135; i > 124; i--) {
      block[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  } else {
    block.write(octal(size, 12), 124, 'latin1');
  }
  block.write(octal(0, 12), 136, 'latin1');
  block.write(options.type ?? '0', 156, 'latin1');
  if (options.linkName) block.write(options.linkName, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** Pads data to whole 512-byte blocks. */
export function tarData(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}

/** A pax extended header ('x') with the given records, followed by its data. */
export function paxHeader(records: Record<string, string>, type = 'x'): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length) length++;
    body += `${length}${rest}`;
  }
  const data = Buffer.from(body);
  return Buffer.concat([tarHeader({ name: 'PaxHeaders/x', size: data.length, type }), tarData(data)]);
}

export const TAR_END = Buffer.alloc(1024);

/** A small tar in memory from `entries` (regular files unless `type` says otherwise), with its end blocks. */
export function tarBytes(
  entries: { name: string; data?: Buffer | string; type?: string; linkName?: string }[],
): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0));
    parts.push(
      tarHeader({
        name: entry.name,
        size: data.length,
        ...(entry.type ? { type: entry.type } : {}),
        ...(entry.linkName ? { linkName: entry.linkName } : {}),
      }),
      tarData(data),
    );
  }
  return Buffer.concat([...parts, TAR_END]);
}

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';

/** One entry of a hand-made layer tar. */
export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  linkname?: string;
}

/** A tar stream's bytes, entry names written exactly as given (absolute, `..`, anything). */
export async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const pack = tarPack();
  const parts: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    parts.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const content = typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0));
    const isFile = e.type === undefined || e.type === 'file';
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: e.name,
          type: e.type ?? 'file',
          mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
          ...(e.linkname ? { linkname: e.linkname } : {}),
          ...(e.type === 'character-device' || e.type === 'block-device' ? { devmajor: 1, devminor: 3 } : {}),
        },
        isFile ? content : Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Writes an OCI layout holding one image made of the given layer blobs (as they are: gzip or not, even
 * corrupt: the digest is of the bytes given, so a source's digest check passes and the damage is the
 * reader's to find). Returns `oci:DIR:TAG`.
 */
export async function writeLayoutImage(
  dir: string,
  tag: string,
  layers: { bytes: Buffer; mediaType?: string; createdBy?: string }[],
  options: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    architecture?: string;
  } = {},
): Promise<string> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Buffer): Promise<string> => {
    const digest = digestOf(bytes);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return digest;
  };
  const layerDescriptors = [];
  for (const layer of layers) {
    const gzip = layer.bytes[0] === 0x1f && layer.bytes[1] === 0x8b;
    layerDescriptors.push({
      mediaType:
        layer.mediaType ??
        (gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar'),
      digest: await put(layer.bytes),
      size: layer.bytes.length,
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? 'amd64',
      os: 'linux',
      created: '2026-11-01T10:00:00Z',
      config: { Labels: options.labels ?? {} },
      rootfs: { type: 'layers', diff_ids: layerDescriptors.map((d) => d.digest) },
      history: layers.map((l, i) => ({
        created: '2026-11-01T10:00:00Z',
        created_by: l.createdBy ?? `layer ${i + 1}`,
      })),
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
      layers: layerDescriptors,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    }),
  );
  const manifestDigest = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  // Several images may share a layout: add this one to the index.
  let index: { schemaVersion: number; manifests: unknown[] } = { schemaVersion: 2, manifests: [] };
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  } catch {
    // a new layout
  }
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: manifestDigest,
    size: manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  });
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return `oci:${dir}:${tag}`;
}

/** The manifest descriptor a layout's index.json names `tag` with. */
export async function layoutManifest(
  dir: string,
  tag: string,
): Promise<{ digest: string; size: number; mediaType: string }> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; size: number; mediaType: string; annotations?: Record<string, string> }[];
  };
  const found = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!found) throw new Error(`${dir} has no image tagged ${tag}`);
  return { digest: found.digest, size: found.size, mediaType: found.mediaType };
}

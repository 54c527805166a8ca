import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Blob {
  digest: string;
  size: number;
}

/** Writes bytes as a blob of the layout (whose blobs/sha256 folder exists). */
export async function writeBlob(layout: string, bytes: Buffer): Promise<Blob> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Config, manifest, `oci-layout` and an `index.json` naming the image `tag`, around gzip layers already in
 * the layout's blobs. `created` and `history` go into the config only when given.
 */
export async function writeImageFiles(
  layout: string,
  image: {
    label: string;
    tag: string;
    layers: (Blob & { diffId: string })[];
    created?: string;
    history?: { created: string; created_by: string }[];
  },
): Promise<{ config: Blob; manifest: Blob }> {
  const config = await writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        ...(image.created ? { created: image.created } : {}),
        config: { Labels: { 'berth.bench.image': image.label } },
        rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffId) },
        ...(image.history ? { history: image.history } : {}),
      }),
    ),
  );
  const manifest = await writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
        layers: image.layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
      }),
    ),
  );
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': image.tag },
        },
      ],
    }),
  );
  return { config, manifest };
}

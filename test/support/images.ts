import { createHash, randomBytes } from 'node:crypto';
import { MediaType } from '../../src/oci/media-types.js';

export interface Blob {
  digest: string;
  bytes: Buffer;
}

export function blobOf(bytes: Buffer | string): Blob {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return { digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, bytes: b };
}

export function randomBlob(size: number): Blob {
  return blobOf(randomBytes(size));
}

export interface TestImage {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
  mediaType: string;
}

/** A small image of random layers; `docker: true` writes a Docker schema 2 manifest instead of OCI. */
export function makeImage(
  options: {
    layers?: number[];
    docker?: boolean;
    arch?: string;
    subject?: Blob & { mediaType: string };
  } = {},
): TestImage {
  const layers = (options.layers ?? [1024, 2048]).map((size) => randomBlob(size));
  const docker = options.docker ?? false;
  const config = blobOf(
    JSON.stringify({
      architecture: options.arch ?? 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: { Labels: { nonce: randomBytes(8).toString('hex') } },
    }),
  );
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
      digest: config.digest,
      size: config.bytes.length,
    },
    layers: layers.map((l) => ({
      mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip,
      digest: l.digest,
      size: l.bytes.length,
    })),
    ...(options.subject
      ? {
          subject: {
            mediaType: options.subject.mediaType,
            digest: options.subject.digest,
            size: options.subject.bytes.length,
          },
        }
      : {}),
  };
  return { config, layers, manifest: blobOf(JSON.stringify(manifest)), mediaType };
}

/** An index over the given manifests, one per platform. */
export function makeIndex(
  images: { image: TestImage; arch: string }[],
  docker = false,
): Blob & { mediaType: string } {
  const mediaType = docker ? MediaType.dockerManifestList : MediaType.ociIndex;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map(({ image, arch }) => ({
      mediaType: image.mediaType,
      digest: image.manifest.digest,
      size: image.manifest.bytes.length,
      platform: { architecture: arch, os: 'linux' },
    })),
  };
  return { ...blobOf(JSON.stringify(index)), mediaType };
}

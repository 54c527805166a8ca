import { BerthError } from './errors.js';
import { MediaType } from './media-types.js';

export type ManifestFormat = 'oci' | 'v2s2';

const DOCKER_TO_OCI: Record<string, string> = {
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerConfig]: MediaType.ociConfig,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayerTar,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
};
const OCI_TO_DOCKER: Record<string, string> = Object.fromEntries(
  Object.entries(DOCKER_TO_OCI).map(([d, o]) => [o, d]),
);

/** The manifest media type a format uses for an image or an index. */
export function formatOf(mediaType: string): ManifestFormat | undefined {
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.ociIndex) return 'oci';
  if (mediaType === MediaType.dockerManifest || mediaType === MediaType.dockerManifestList) return 'v2s2';
  return undefined;
}

/**
 * Rewrites a manifest or index into the other format, as skopeo's `--format` does: the same content under
 * the other media types. Child digests of an index are replaced through `children` (converted children have
 * new digests). OCI-only content (zstd layers, artifacts, subjects) cannot become Docker schema 2.
 */
export function convertManifest(
  json: Record<string, unknown>,
  to: ManifestFormat,
  children: Map<string, { digest: string; size: number; mediaType: string }> = new Map(),
): Record<string, unknown> {
  const map = to === 'oci' ? DOCKER_TO_OCI : OCI_TO_DOCKER;
  const convertType = (type: unknown, what: string): string => {
    const value = String(type);
    if (formatOf(value) === to || Object.values(map).includes(value)) return value;
    // zstd layers have no Docker type; an OCI manifest holds them as they are.
    if (to === 'oci' && value === MediaType.ociLayerZstd) return value;
    const converted = map[value];
    if (!converted) {
      throw new BerthError(
        'FORMAT_UNSUPPORTED',
        `cannot convert ${what} of type ${value} to ${to === 'oci' ? 'OCI' : 'Docker schema 2'}`,
      );
    }
    return converted;
  };
  const out: Record<string, unknown> = { ...json, mediaType: convertType(json.mediaType, 'the manifest') };
  if (to === 'v2s2' && (json.subject || json.artifactType)) {
    throw new BerthError(
      'FORMAT_UNSUPPORTED',
      'cannot convert an artifact or a manifest with a subject to Docker schema 2',
    );
  }
  if (Array.isArray(json.manifests)) {
    out.manifests = (json.manifests as Record<string, unknown>[]).map((entry) => {
      const child = children.get(String(entry.digest));
      return child
        ? { ...entry, ...child }
        : { ...entry, mediaType: convertType(entry.mediaType, 'an index entry') };
    });
  }
  if (json.config && typeof json.config === 'object') {
    const config = json.config as Record<string, unknown>;
    out.config = { ...config, mediaType: convertType(config.mediaType, 'the config') };
  }
  if (Array.isArray(json.layers)) {
    out.layers = (json.layers as Record<string, unknown>[]).map((layer) => ({
      ...layer,
      mediaType: convertType(layer.mediaType, 'a layer'),
    }));
  }
  return out;
}

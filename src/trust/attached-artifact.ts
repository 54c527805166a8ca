import { type Digest, digestHex, EMPTY_JSON_BYTES, EMPTY_JSON_DIGEST, parseDigest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { type Descriptor, imageIndexSchema } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';

/**
 * Artifacts attached to an image as OCI 1.1 referrers (an SBOM, a scan report): an image manifest whose
 * `subject` is the image, found through the referrers API, or, on registries without it, through the
 * tag schema's index at `sha256-<hex>`. Pure: builds and reads bytes only.
 */

export const SPDX_JSON_ARTIFACT = 'application/spdx+json';
export const CYCLONEDX_JSON_ARTIFACT = 'application/vnd.cyclonedx+json';
/** The empty config blob every artifact manifest points at (`{}`). */
export const EMPTY_CONFIG = { bytes: EMPTY_JSON_BYTES, digest: EMPTY_JSON_DIGEST };
/** More referrers than this are not listed: a registry cannot make a listing endless. */
export const MAX_REFERRERS = 1000;

/** The tag schema's tag for an image's referrers: `sha256:abc…` → `sha256-abc…`. */
export function referrersFallbackTag(digest: Digest): string {
  const parsed = parseDigest(digest);
  return `${parsed.split(':')[0]}-${digestHex(parsed)}`;
}

/** The manifest of an artifact of one blob, attached to `subject`. */
export function artifactManifest(options: {
  artifactType: string;
  blob: { mediaType: string; digest: Digest; size: number };
  subject: { mediaType: string; digest: Digest; size: number };
  annotations?: Record<string, string>;
}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: options.artifactType,
      config: { mediaType: MediaType.ociEmpty, digest: EMPTY_JSON_DIGEST, size: EMPTY_JSON_BYTES.length },
      layers: [options.blob],
      subject: options.subject,
      ...(options.annotations && Object.keys(options.annotations).length > 0
        ? { annotations: options.annotations }
        : {}),
    }),
  );
}

/** The descriptors of a referrers index (the API's answer or the fallback tag's index). */
export function referrersOf(bytes: Buffer): Descriptor[] {
  try {
    return imageIndexSchema.parse(JSON.parse(bytes.toString('utf8'))).manifests.slice(0, MAX_REFERRERS);
  } catch {
    throw new BerthError('REGISTRY_ERROR', 'the referrers answer is not an image index');
  }
}

/** The fallback tag's index with `entry` added (replacing an entry of the same digest). */
export function withReferrer(existing: Buffer | undefined, entry: Descriptor): Buffer {
  const manifests = existing ? referrersOf(existing).filter((m) => m.digest !== entry.digest) : [];
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests, entry] }),
  );
}

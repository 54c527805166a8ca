import { type Digest, digestHex, digestOf, parseDigest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { type Descriptor, imageManifestSchema } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { SIGNATURE_ANNOTATION } from './simple-signing.js';

/**
 * Where and how cosign stores an image's signatures: one OCI image manifest at the tag `sha256-<hex>.sig`,
 * one layer per signature (the payload blob, the signature in the layer's annotation), and a config that
 * lists the layers as an image's would. Pure: builds bytes, never sends them.
 */

/** More signatures than this on one image are not read: a registry cannot make a verify run forever. */
export const MAX_SIGNATURE_LAYERS = 256;

/** `sha256:abc…` → `sha256-abc….sig`. */
export function signatureTag(digest: Digest): string {
  const parsed = parseDigest(digest);
  return `${parsed.split(':')[0]}-${digestHex(parsed)}.sig`;
}

/** The layers of a signature manifest already stored; a manifest of another shape is an error. */
export function signatureLayers(bytes: Buffer): Descriptor[] {
  let manifest: ReturnType<typeof imageManifestSchema.parse>;
  try {
    manifest = imageManifestSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    throw new BerthError(
      'SIGNATURE_INVALID',
      'the signature tag holds something other than an image manifest',
    );
  }
  return manifest.layers;
}

/**
 * The signature manifest with `layer` added after `existing` (or the same layers when an identical signature
 * is already there), with its config blob.
 */
export function appendSignature(
  existing: readonly Descriptor[],
  layer: Descriptor,
): { manifest: Buffer; config: Buffer; configDigest: Digest; added: boolean } {
  const duplicate = existing.some(
    (l) =>
      l.digest === layer.digest &&
      l.annotations?.[SIGNATURE_ANNOTATION] === layer.annotations?.[SIGNATURE_ANNOTATION],
  );
  const layers = duplicate ? [...existing] : [...existing, layer];
  if (layers.length > MAX_SIGNATURE_LAYERS)
    throw new BerthError('SIGNATURE_INVALID', `the image already has ${existing.length} signatures`);
  // The config go-containerregistry writes for an image built from nothing but these layers.
  const zero = '0001-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: zero,
      history: layers.map(() => ({ created: zero })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const configDigest = digestOf(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, size: config.length, digest: configDigest },
      layers,
    }),
  );
  return { manifest, config, configDigest, added: !duplicate };
}

import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { type Digest, digestOf, isDigest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';

/**
 * Cosign's signed payload, the "simple signing" JSON of containers/image with cosign's type, over an image
 * manifest digest; and the check of one signature against a public key. Pure: no I/O.
 */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
/** Cosign's payloads are a few hundred bytes; a larger one is not read. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Annotations given with `-a`: bounded so that a payload stays small. */
const MAX_ANNOTATIONS = 64;

/** The payload bytes cosign signs: Go's JSON encoding of the struct (fixed field order, sorted map keys). */
export function simpleSigningPayload(
  dockerReference: string,
  digest: Digest,
  annotations: Record<string, string>,
): Buffer {
  const keys = Object.keys(annotations).sort();
  if (keys.length > MAX_ANNOTATIONS) throw new BerthError('USAGE', `at most ${MAX_ANNOTATIONS} annotations`);
  const optional = keys.length === 0 ? null : Object.fromEntries(keys.map((k) => [k, annotations[k]]));
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: COSIGN_SIGNATURE_TYPE,
      },
      optional,
    }),
  );
}

/** `key=value` pairs of `-a`, as cosign reads them (the first `=` splits). */
export function parseAnnotationFlags(pairs: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BerthError('USAGE', `-a: expected key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(result, key)) throw new BerthError('USAGE', `-a: "${key}" given twice`);
    result[key] = pair.slice(eq + 1);
  }
  if (Object.keys(result).length > MAX_ANNOTATIONS)
    throw new BerthError('USAGE', `-a: at most ${MAX_ANNOTATIONS} annotations`);
  return result;
}

/** ECDSA over SHA-256 of the payload, ASN.1 DER, base64: the annotation's value. */
export function signPayload(payload: Buffer, privateKey: KeyObject): string {
  return sign('sha256', payload, privateKey).toString('base64');
}

export type SignatureFailure =
  | 'not-simple-signing'
  | 'payload-missing'
  | 'payload-too-large'
  | 'payload-digest-mismatch'
  | 'no-signature'
  | 'signature-mismatch'
  | 'payload-invalid'
  | 'wrong-type'
  | 'digest-mismatch'
  | 'annotation-mismatch';

export type SignatureCheck =
  | { verified: true; dockerReference: string; annotations: Record<string, unknown> }
  | { verified: false; reason: SignatureFailure };

export interface SignatureLayer {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string> | undefined;
}

/**
 * Whether one layer of a signature manifest is a valid signature by `publicKey` of the image `digest`,
 * carrying every annotation of `required`. `payload` is the layer's blob as fetched (undefined when the
 * registry had none); its digest is checked here against the descriptor, so a swapped blob fails.
 */
export function checkSignatureLayer(input: {
  layer: SignatureLayer;
  payload: Buffer | undefined;
  publicKey: KeyObject;
  digest: Digest;
  required: Record<string, string>;
}): SignatureCheck {
  const { layer, payload } = input;
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return { verified: false, reason: 'not-simple-signing' };
  const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (!signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature) || signature.length > 4096)
    return { verified: false, reason: 'no-signature' };
  if (!payload) return { verified: false, reason: 'payload-missing' };
  if (payload.length > MAX_PAYLOAD_BYTES) return { verified: false, reason: 'payload-too-large' };
  if (!isDigest(layer.digest) || payload.length !== layer.size || digestOf(payload) !== layer.digest)
    return { verified: false, reason: 'payload-digest-mismatch' };
  let valid = false;
  try {
    valid = verify('sha256', payload, input.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) return { verified: false, reason: 'signature-mismatch' };
  // Only a payload the key signed is parsed: what follows trusts its author, not the registry.
  const claims = readClaims(payload);
  if (!claims) return { verified: false, reason: 'payload-invalid' };
  if (claims.type !== COSIGN_SIGNATURE_TYPE) return { verified: false, reason: 'wrong-type' };
  if (claims.digest !== input.digest) return { verified: false, reason: 'digest-mismatch' };
  for (const [key, value] of Object.entries(input.required)) {
    if (!Object.hasOwn(claims.optional, key) || claims.optional[key] !== value)
      return { verified: false, reason: 'annotation-mismatch' };
  }
  return { verified: true, dockerReference: claims.dockerReference, annotations: claims.optional };
}

/**
 * The claims of a payload. Go's JSON decoder, which cosign verifies with, matches field names without
 * regard to case (the spec's own example writes `Docker-manifest-digest`), so this does too; a name that
 * appears twice in different cases is refused rather than guessed.
 */
function readClaims(
  payload: Buffer,
):
  | { type: unknown; digest: unknown; dockerReference: string; optional: Record<string, unknown> }
  | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const critical = field(parsed, 'critical');
  if (critical === undefined) return undefined;
  const image = field(critical, 'image');
  const identity = field(critical, 'identity');
  const digest = image === undefined ? undefined : field(image, 'docker-manifest-digest');
  const reference = identity === undefined ? undefined : field(identity, 'docker-reference');
  const optional = field(parsed, 'optional');
  if (digest === undefined) return undefined;
  return {
    type: field(critical, 'type'),
    digest,
    dockerReference: typeof reference === 'string' ? reference : '',
    optional:
      optional && typeof optional === 'object' && !Array.isArray(optional)
        ? (optional as Record<string, unknown>)
        : {},
  };
}

function field(value: unknown, name: string): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const matches = Object.keys(value).filter((key) => key.toLowerCase() === name);
  if (matches.length !== 1) return undefined;
  return (value as Record<string, unknown>)[matches[0] as string];
}

/** SHA-256 of the payload, hex: what the signature is over (for reports). */
export function payloadHash(payload: Buffer): string {
  return createHash('sha256').update(payload).digest('hex');
}

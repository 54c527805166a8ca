import type { Digest } from '../oci/digest.js';
import { digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageReference } from '../oci/reference.js';
import {
  appendSignature,
  MAX_SIGNATURE_LAYERS,
  signatureLayers,
  signatureTag,
} from '../trust/signature-manifest.js';
import {
  checkSignatureLayer,
  MAX_PAYLOAD_BYTES,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SignatureFailure,
  signPayload,
  simpleSigningPayload,
} from '../trust/simple-signing.js';
import type { RepositoryClient } from './registry-client.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';
import { loadPrivateKey, loadPublicKey } from './signing-keys.js';

/**
 * `berth sign` and `berth verify`: cosign's signatures on a registry image, stored and read where cosign
 * keeps them (the `sha256-<hex>.sig` tag of the image's repository).
 */

export interface SignResult {
  image: string;
  digest: Digest;
  signatureTag: string;
  /** False when the same signature was already there (ECDSA signatures differ each time, so rarely). */
  added: boolean;
  signatures: number;
}

export interface VerifyResult {
  image: string;
  digest: Digest;
  signatureTag: string;
  signatures: {
    index: number;
    payloadDigest: string;
    verified: boolean;
    reason?: SignatureFailure;
    annotations?: Record<string, unknown>;
  }[];
  verified: number;
}

function dockerReference(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}`;
}

/** The digest the reference names: its own digest, or what its tag points at now. */
async function resolveDigest(repo: RepositoryClient, ref: ImageReference): Promise<Digest> {
  if (ref.digest) return ref.digest as Digest;
  const manifest = await repo.getManifest(ref.tag ?? 'latest');
  if (!manifest)
    throw new BerthError('IMAGE_NOT_FOUND', `${repo.where}:${ref.tag ?? 'latest'}: no such image`);
  return manifest.digest;
}

/** Uploads a small blob (a payload, a config, a document) in one request, unless the repository has it. */
export async function pushSmallBlob(repo: RepositoryClient, bytes: Buffer): Promise<Digest> {
  const digest = digestOf(bytes);
  if ((await repo.headBlob(digest)) !== undefined) return digest;
  const session = await repo.startUpload();
  await repo.completeUpload(session.location, digest, undefined, { open: bytes, size: bytes.length });
  return digest;
}

async function readBounded(repo: RepositoryClient, layer: Descriptor): Promise<Buffer | undefined> {
  if (layer.size > MAX_PAYLOAD_BYTES) return Buffer.alloc(MAX_PAYLOAD_BYTES + 1);
  if ((await repo.headBlob(layer.digest as Digest)) === undefined) return undefined;
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of await repo.getBlob(layer.digest as Digest)) {
    total += (chunk as Buffer).length;
    // Past the limit the check fails anyway; stop reading what a server keeps sending.
    if (total > MAX_PAYLOAD_BYTES) return Buffer.alloc(MAX_PAYLOAD_BYTES + 1);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export async function signImage(options: {
  ref: ImageReference;
  session: SessionSettings;
  keyPath: string;
  password: string;
  annotations: Record<string, string>;
}): Promise<SignResult> {
  const { ref } = options;
  // The key first: a wrong passphrase fails before anything is sent.
  const privateKey = await loadPrivateKey(options.keyPath, options.password);
  const session = await openSessionFor(options.session, [ref.host]);
  try {
    const repo = session.repository(ref);
    const digest = await resolveDigest(repo, ref);
    const payload = simpleSigningPayload(dockerReference(ref), digest, options.annotations);
    const signature = signPayload(payload, privateKey);
    const tag = signatureTag(digest);
    const stored = await repo.getManifest(tag);
    const existing = stored ? signatureLayers(stored.bytes) : [];
    const payloadDigest = await pushSmallBlob(repo, payload);
    const layer: Descriptor = {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      size: payload.length,
      digest: payloadDigest,
      annotations: { [SIGNATURE_ANNOTATION]: signature },
    };
    const next = appendSignature(existing, layer);
    await pushSmallBlob(repo, next.config);
    // Another signer may have appended in between; cosign has the same race (its spec says so).
    await repo.putManifest(tag, next.manifest, 'application/vnd.oci.image.manifest.v1+json');
    return {
      image: dockerReference(ref),
      digest,
      signatureTag: tag,
      added: next.added,
      signatures: existing.length + (next.added ? 1 : 0),
    };
  } finally {
    await session.close();
  }
}

export async function verifyImage(options: {
  ref: ImageReference;
  session: SessionSettings;
  keyPath: string;
  required: Record<string, string>;
}): Promise<VerifyResult> {
  const { ref } = options;
  const publicKey = await loadPublicKey(options.keyPath);
  const session = await openSessionFor(options.session, [ref.host]);
  try {
    const repo = session.repository(ref);
    const digest = await resolveDigest(repo, ref);
    const tag = signatureTag(digest);
    const stored = await repo.getManifest(tag);
    const result: VerifyResult = {
      image: dockerReference(ref),
      digest,
      signatureTag: tag,
      signatures: [],
      verified: 0,
    };
    if (!stored) return result;
    const layers = signatureLayers(stored.bytes).slice(0, MAX_SIGNATURE_LAYERS);
    for (const [index, layer] of layers.entries()) {
      const payload = await readBounded(repo, layer);
      const check = checkSignatureLayer({
        layer,
        payload,
        publicKey,
        digest,
        required: options.required,
      });
      result.signatures.push(
        check.verified
          ? { index, payloadDigest: layer.digest, verified: true, annotations: check.annotations }
          : { index, payloadDigest: layer.digest, verified: false, reason: check.reason },
      );
      if (check.verified) result.verified++;
    }
    return result;
  } finally {
    await session.close();
  }
}

export { parseAnnotationFlags } from '../trust/simple-signing.js';

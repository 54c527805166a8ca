import { type Digest, digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { MediaType } from '../oci/media-types.js';
import type { ImageReference } from '../oci/reference.js';
import {
  artifactManifest,
  EMPTY_CONFIG,
  referrersFallbackTag,
  referrersOf,
  withReferrer,
} from '../trust/attached-artifact.js';
import { signatureLayers, signatureTag } from '../trust/signature-manifest.js';
import { pushSmallBlob } from './image-signing.js';
import type { RepositoryClient } from './registry-client.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';

/**
 * `berth sbom --attach` and `berth referrers`: artifacts attached to a registry image as OCI 1.1 referrers,
 * through the referrers API where the registry has it and the tag schema (`sha256-<hex>`) where it does not.
 */

export interface ReferrerEntry {
  digest: string;
  mediaType: string;
  artifactType?: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ReferrersListing {
  image: string;
  digest: Digest;
  /** `api` when the registry answered the referrers API, `tag-schema` when the fallback tag was read. */
  via: 'api' | 'tag-schema';
  referrers: ReferrerEntry[];
  /** Cosign signatures at the `sha256-<hex>.sig` tag, which are no referrers but are attached all the same. */
  cosignSignatures: number;
}

export interface AttachResult {
  image: string;
  subject: Digest;
  artifact: Digest;
  artifactType: string;
  via: 'api' | 'tag-schema';
}

async function resolveTop(repo: RepositoryClient, ref: ImageReference) {
  const manifest = await repo.getManifest(ref.digest ?? ref.tag ?? 'latest');
  if (!manifest)
    throw new BerthError(
      'IMAGE_NOT_FOUND',
      `${repo.where}:${ref.digest ?? ref.tag ?? 'latest'}: no such image`,
    );
  return manifest;
}

/** Stores `document` as an artifact whose subject is the image `ref` names. */
export async function attachArtifact(options: {
  ref: ImageReference;
  session: SessionSettings;
  document: Buffer;
  mediaType: string;
  artifactType: string;
  annotations?: Record<string, string>;
}): Promise<AttachResult> {
  const { ref } = options;
  const session = await openSessionFor(options.session, [ref.host]);
  try {
    const repo = session.repository(ref);
    const subject = await resolveTop(repo, ref);
    const blobDigest = await pushSmallBlob(repo, options.document);
    await pushSmallBlob(repo, EMPTY_CONFIG.bytes);
    const manifest = artifactManifest({
      artifactType: options.artifactType,
      blob: { mediaType: options.mediaType, digest: blobDigest, size: options.document.length },
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
      ...(options.annotations ? { annotations: options.annotations } : {}),
    });
    const pushed = await repo.putManifestWithSubject(digestOf(manifest), manifest, MediaType.ociManifest);
    let via: AttachResult['via'] = 'api';
    if (!pushed.subjectProcessed) {
      // A registry without the referrers API: keep the tag schema's index, as the OCI 1.1 spec asks clients to.
      via = 'tag-schema';
      const tag = referrersFallbackTag(subject.digest);
      const existing = await repo.getManifest(tag);
      const index = withReferrer(existing?.bytes, {
        mediaType: MediaType.ociManifest,
        digest: pushed.digest,
        size: manifest.length,
        artifactType: options.artifactType,
        ...(options.annotations && Object.keys(options.annotations).length > 0
          ? { annotations: options.annotations }
          : {}),
      });
      await repo.putManifest(tag, index, MediaType.ociIndex);
    }
    return {
      image: `${ref.host}/${ref.repository}`,
      subject: subject.digest,
      artifact: pushed.digest,
      artifactType: options.artifactType,
      via,
    };
  } finally {
    await session.close();
  }
}

/** What is attached to the image `ref` names: its referrers, and how many cosign signatures it has. */
export async function listReferrers(options: {
  ref: ImageReference;
  session: SessionSettings;
}): Promise<ReferrersListing> {
  const { ref } = options;
  const session = await openSessionFor(options.session, [ref.host]);
  try {
    const repo = session.repository(ref);
    const subject = await resolveTop(repo, ref);
    const fromApi = await repo.getReferrers(subject.digest);
    let via: ReferrersListing['via'] = 'api';
    let index = fromApi;
    if (!index) {
      via = 'tag-schema';
      index = (await repo.getManifest(referrersFallbackTag(subject.digest)))?.bytes;
    }
    const referrers: ReferrerEntry[] = (index ? referrersOf(index) : []).map((m) => ({
      digest: m.digest,
      mediaType: m.mediaType,
      ...(m.artifactType ? { artifactType: m.artifactType } : {}),
      size: m.size,
      ...(m.annotations ? { annotations: m.annotations } : {}),
    }));
    const signatures = await repo.getManifest(signatureTag(subject.digest));
    let cosignSignatures = 0;
    try {
      cosignSignatures = signatures ? signatureLayers(signatures.bytes).length : 0;
    } catch {
      // Something else at the signature tag: no signatures to count.
    }
    return {
      image: `${ref.host}/${ref.repository}`,
      digest: subject.digest,
      via,
      referrers,
      cosignSignatures,
    };
  } finally {
    await session.close();
  }
}

import { type Digest, digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { type Descriptor, imageIndexSchema, imageManifestSchema } from '../oci/manifest.js';
import { convertManifest, formatOf, type ManifestFormat } from '../oci/manifest-format.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { choosePlatform, formatPlatform, type Platform } from './platform.js';
import { type CompressionChoice, compressedMediaType, isUncompressedLayer } from './prepared-blob.js';
import type { ManifestBlob } from './sources/image-source.js';

// The decisions of a copy, apart from the I/O that carries them out (copy-image.ts): which manifests, in
// which order, under which references, and for each blob whether it is there, can be mounted, or must be sent.
// Nothing here reads a file, the network or the clock; what only I/O can tell comes in as facts.

export type BlobKind = 'config' | 'layer';
export type BlobAction = 'exists' | 'mounted' | 'uploaded';

/** Mounts tried per blob before uploading it: each refused one costs a round trip. */
export const MAX_MOUNT_ATTEMPTS = 3;

/** A blob as it is (or may already be) at the destination: the source's blob, or a compressed one made of it. */
export interface DestinationBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Whether it differs from the source's blob (so its manifest entry changes). */
  rewritten: boolean;
}

export interface PlannedBlob {
  /** The blob as the source holds it; `descriptor.digest` names it all the way. */
  descriptor: Descriptor;
  kind: BlobKind;
  /** Whether the layer goes through the compressor (`auto` may still decide against it on its bytes). */
  compress: boolean;
  /** What the destination may already hold in its place, asked about in this order before anything is prepared. */
  candidates: DestinationBlob[];
}

export interface PlannedImage {
  type: 'image';
  /** As the source holds it. */
  manifest: ManifestBlob;
  /** The source digests of its config, then of its layers in manifest order (a repeated layer repeats). */
  blobs: Digest[];
  /** The tag to push it under; undefined pushes it by its (final) digest. */
  tag?: string;
  platform?: string;
}

export interface PlannedIndex {
  type: 'index';
  manifest: ManifestBlob;
  /** The source digests of the children it lists, each a `PlannedImage` earlier in the plan. */
  children: Digest[];
  tag?: string;
}

export type PlannedManifest = PlannedImage | PlannedIndex;

export interface CopyPlan {
  /** Every blob once, keyed by its source digest, in the order first needed. */
  blobs: PlannedBlob[];
  /**
   * In push order: an image after its config and layers, an index after all its children. The last one is
   * the result of the copy; images may go concurrently, each as soon as its own blobs are done.
   */
  manifests: PlannedManifest[];
  /** Tags pushed after the result, one by one, each pointing at it. */
  moreTags: string[];
}

export interface ManifestChoice {
  /** Copy every platform of an index. */
  all: boolean;
  /** The platform to copy out of an index without `all`. */
  platform: Platform;
  /** The source, for messages. */
  description: string;
}

/** The child manifests of `top` the copy needs (none for an image manifest); the caller fetches them. */
export function childrenToFetch(
  top: ManifestBlob,
  choice: ManifestChoice,
): { digest: Digest; platform?: string }[] {
  if (!isIndexMediaType(top.mediaType)) return [];
  const index = imageIndexSchema.parse(JSON.parse(top.bytes.toString('utf8')));
  if (choice.all) {
    return index.manifests.map((entry) => ({
      digest: entry.digest,
      ...(entry.platform ? { platform: formatPlatform(entry.platform) } : {}),
    }));
  }
  const entry = choosePlatform(index.manifests, choice.platform, choice.description);
  return [{ digest: entry.digest, platform: formatPlatform(entry.platform ?? choice.platform) }];
}

export interface CopyPlanInput extends ManifestChoice {
  top: ManifestBlob;
  /** The manifests `childrenToFetch` named, by digest. */
  children: ReadonlyMap<string, ManifestBlob>;
  /** Tags to push; none pushes the result by its digest. */
  tags: string[];
  compression: CompressionChoice;
  /** The compressed blob an earlier run made of an uncompressed layer (the blob-info cache). */
  compressedEarlier: (diffId: Digest) => { digest: Digest; size: number } | undefined;
}

/** Plans a copy: the manifests to push in order, under which tags, and the blobs they need, each once. */
export function planCopy(input: CopyPlanInput): CopyPlan {
  const blobs = new Map<string, PlannedBlob>();
  const manifests: PlannedManifest[] = [];
  const images = new Set<string>();
  const [firstTag, ...moreTags] = input.tags;

  const addImage = (manifest: ManifestBlob, tag: string | undefined, platform: string | undefined): void => {
    if (isIndexMediaType(manifest.mediaType)) {
      throw new BerthError('UNSUPPORTED_IMAGE', `${input.description}: nested indexes are not supported`);
    }
    // An index that lists one manifest twice gets it pushed once.
    if (images.has(manifest.digest)) return;
    images.add(manifest.digest);
    const parsed = imageManifestSchema.parse(JSON.parse(manifest.bytes.toString('utf8')));
    const needed: [Descriptor, BlobKind][] = [
      [parsed.config, 'config'],
      ...parsed.layers.map((layer): [Descriptor, BlobKind] => [layer, 'layer']),
    ];
    for (const [descriptor, kind] of needed) {
      if (!blobs.has(descriptor.digest)) blobs.set(descriptor.digest, planBlob(descriptor, kind, input));
    }
    manifests.push({
      type: 'image',
      manifest,
      blobs: needed.map(([descriptor]) => descriptor.digest),
      ...(tag !== undefined ? { tag } : {}),
      ...(platform ? { platform } : {}),
    });
  };

  const selected = childrenToFetch(input.top, input);
  if (!isIndexMediaType(input.top.mediaType)) {
    addImage(input.top, firstTag, undefined);
  } else {
    const fetched = selected.map((child) => {
      const manifest = input.children.get(child.digest);
      if (!manifest) throw new Error(`copy plan: child manifest ${child.digest} was not fetched`);
      return { manifest, platform: child.platform };
    });
    if (input.all) {
      for (const child of fetched) addImage(child.manifest, undefined, child.platform);
      manifests.push({
        type: 'index',
        manifest: input.top,
        children: selected.map((child) => child.digest),
        ...(firstTag !== undefined ? { tag: firstTag } : {}),
      });
    } else {
      for (const child of fetched) addImage(child.manifest, firstTag, child.platform);
    }
  }
  return { blobs: [...blobs.values()], manifests, moreTags };
}

function planBlob(
  descriptor: Descriptor,
  kind: BlobKind,
  input: Pick<CopyPlanInput, 'compression' | 'compressedEarlier'>,
): PlannedBlob {
  const compress =
    kind === 'layer' && isUncompressedLayer(descriptor.mediaType) && input.compression !== 'none';
  const candidates: DestinationBlob[] = [];
  if (compress) {
    const earlier = input.compressedEarlier(descriptor.digest);
    if (earlier)
      candidates.push({
        ...earlier,
        mediaType: compressedMediaType(descriptor.mediaType, input.compression),
        rewritten: true,
      });
  }
  // `gzip` always sends the compressed blob, so only `auto` (which may keep it as it is) asks for the original.
  if (!compress || input.compression === 'auto') {
    candidates.push({
      digest: descriptor.digest,
      size: descriptor.size,
      mediaType: descriptor.mediaType,
      rewritten: false,
    });
  }
  return { descriptor, kind, compress, candidates };
}

/** What the executor has learned about one blob so far. */
export interface BlobFacts {
  /** The destination's answers: digest → whether it holds that blob. */
  present: ReadonlyMap<Digest, boolean>;
  /** The blob as it will be sent, once prepared, and the repositories that may hold it (best first). */
  prepared?: { blob: DestinationBlob; mountSources: readonly string[] };
  /** Mounts the destination refused so far. */
  mountsRefused: number;
  /** The repository a mount succeeded from. */
  mountedFrom?: string;
  /** The bytes the upload sent, once it is done. */
  sent?: number;
}

export type BlobStep =
  /** Ask the destination whether it holds this digest. */
  | { step: 'check'; digest: Digest }
  /** Make the blob ready to send: compressed into a spool file, or as it is. */
  | { step: 'prepare' }
  | { step: 'mount'; digest: Digest; from: string }
  | { step: 'upload'; digest: Digest }
  | { step: 'done'; action: BlobAction; blob: DestinationBlob; from?: string; sent?: number };

/**
 * The next thing to do for a blob, given what is known: the destination holds it (`exists`), it can be
 * linked from another repository (`mount`), or its bytes must go (`upload`). The executor carries out the
 * step, adds what it learned to the facts and asks again until the answer is `done`.
 */
export function nextBlobStep(blob: PlannedBlob, facts: BlobFacts): BlobStep {
  for (const candidate of blob.candidates) {
    const present = facts.present.get(candidate.digest);
    if (present === undefined) return { step: 'check', digest: candidate.digest };
    if (present) return { step: 'done', action: 'exists', blob: candidate };
  }
  if (!facts.prepared) return { step: 'prepare' };
  const prepared = facts.prepared.blob;
  // A compressed blob's digest is known only now; an earlier run (or another tool) may have pushed it.
  const present = facts.present.get(prepared.digest);
  if (present === undefined && prepared.rewritten) return { step: 'check', digest: prepared.digest };
  if (present) return { step: 'done', action: 'exists', blob: prepared };
  if (facts.mountedFrom !== undefined) {
    return { step: 'done', action: 'mounted', blob: prepared, from: facts.mountedFrom };
  }
  if (facts.sent !== undefined) return { step: 'done', action: 'uploaded', blob: prepared, sent: facts.sent };
  const from = facts.prepared.mountSources.slice(0, MAX_MOUNT_ATTEMPTS)[facts.mountsRefused];
  if (from !== undefined) return { step: 'mount', digest: prepared.digest, from };
  return { step: 'upload', digest: prepared.digest };
}

/**
 * The image manifest to push: layers the copy compressed take their new digest, size and media type, and
 * `format` converts it. Unchanged, it is the source's bytes as they are (same digest).
 */
export function imageManifestToPush(
  manifest: ManifestBlob,
  layers: readonly DestinationBlob[],
  format: ManifestFormat | undefined,
): ManifestBlob {
  let json = JSON.parse(manifest.bytes.toString('utf8')) as Record<string, unknown> & {
    layers: Record<string, unknown>[];
  };
  let changed = false;
  if (layers.some((layer) => layer.rewritten)) {
    json.layers = json.layers.map((layer, i) => {
      const sent = layers[i];
      return sent?.rewritten
        ? { ...layer, mediaType: sent.mediaType, digest: sent.digest, size: sent.size }
        : layer;
    });
    changed = true;
  }
  if (format && formatOf(manifest.mediaType) !== format) {
    json = convertManifest({ mediaType: manifest.mediaType, ...json }, format) as typeof json;
    changed = true;
  }
  return changed ? serialize(json, manifest.mediaType) : manifest;
}

/**
 * The index to push once its children are pushed: entries of children whose bytes changed name the pushed
 * ones, and `format` converts it. Unchanged, it is the source's bytes as they are.
 */
export function indexToPush(
  index: ManifestBlob,
  children: ReadonlyMap<string, ManifestBlob>,
  format: ManifestFormat | undefined,
): ManifestBlob {
  const converted = format !== undefined && formatOf(index.mediaType) !== format;
  if (!converted && [...children].every(([source, pushed]) => pushed.digest === source)) return index;
  const replaced = new Map(
    [...children].map(([source, pushed]) => [
      source,
      { digest: pushed.digest, size: pushed.bytes.length, mediaType: pushed.mediaType },
    ]),
  );
  let json = JSON.parse(index.bytes.toString('utf8')) as Record<string, unknown> & {
    manifests: Record<string, unknown>[];
  };
  json.manifests = json.manifests.map((m) => ({ ...m, ...replaced.get(String(m.digest)) }));
  if (converted) {
    json = convertManifest({ mediaType: index.mediaType, ...json }, format, replaced) as typeof json;
  }
  return serialize(json, index.mediaType);
}

/** Manifest bytes Berth writes itself (after a rewrite or a conversion), with their type and digest. */
function serialize(json: Record<string, unknown>, mediaType: string): ManifestBlob {
  const bytes = Buffer.from(JSON.stringify(json, null, 3));
  return {
    bytes,
    mediaType: typeof json.mediaType === 'string' ? json.mediaType : mediaType,
    digest: digestOf(bytes),
  };
}

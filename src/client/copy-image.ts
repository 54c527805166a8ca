import pLimit from 'p-limit';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { ManifestFormat } from '../oci/manifest-format.js';
import type { BlobInfoCache } from './blob-info-cache.js';
import {
  type BlobAction,
  type BlobFacts,
  type CopyPlan,
  childrenToFetch,
  type DestinationBlob,
  imageManifestToPush,
  indexToPush,
  nextBlobStep,
  type PlannedBlob,
  type PlannedManifest,
  planCopy,
} from './copy-plan.js';
import type { ImageDestination } from './destinations/image-destination.js';
import type { GrowingSpool } from './growing-spool.js';
import { hostPlatform, type Platform } from './platform.js';
import {
  asIs,
  type CompressionChoice,
  compressorOf,
  type PreparedBlob,
  prepareLayer,
} from './prepared-blob.js';
import { RegistryResponseError } from './registry-client.js';
import type { SharedLayerReads } from './shared-layer-reads.js';
import type { ImageSource, ManifestBlob } from './sources/image-source.js';

export type { BlobAction } from './copy-plan.js';

/**
 * One blob's way through a copy. `source` is the digest the source holds it under and stays the same all
 * the way, while `digest` and `size` are of what is being moved now: the compressed blob once a layer has
 * been compressed. So a consumer keys a blob by `source` and shows one row per blob.
 */
export type BlobEvent = {
  type: 'blob';
  source: Digest;
  digest: Digest;
  size: number;
  kind: 'config' | 'layer';
} & (
  | { state: 'checking' }
  /** `read` bytes of the source (of `size`) went through the compressor so far. */
  | { state: 'compressing'; read: number }
  /** `sent` bytes (of `size`) are at the destination; a resumed upload starts above 0. */
  | { state: 'uploading'; sent: number }
  /** `sent`: the bytes of an uploaded blob that this run sent (less than `size` when it resumed one). */
  | { state: BlobAction; from?: string; sent?: number }
);

export type CopyEvent =
  | BlobEvent
  | { type: 'manifest'; digest: Digest; mediaType: string; reference: string; platform?: string };

export interface CopyOptions {
  /** Copy every platform of an index. */
  all: boolean;
  /** The platform to copy out of an index (default: this machine's). */
  platform?: Platform | undefined;
  compression: CompressionChoice;
  compressionLevel: number;
  /** Convert manifests to this format (`--format`; an OCI layout needs `oci`). Undefined keeps each as it is. */
  format?: ManifestFormat | undefined;
  maxConcurrent: number;
  cacheDir: string;
  cache: BlobInfoCache;
  onEvent?: (event: CopyEvent) => void;
  signal?: AbortSignal;
  /** Gives the layers' bytes, as the compressor reads them, to another reader too (the admission gate). */
  layerReads?: SharedLayerReads;
  /**
   * Awaited before anything is sent (the admission gate's verdict): blobs are checked and prepared
   * meanwhile, then wait for it without holding a place among the `maxConcurrent`; a rejection ends the copy.
   */
  beforeSending?: () => Promise<void>;
}

export interface CopiedBlob {
  digest: Digest;
  size: number;
  action: BlobAction;
  /** Bytes of an uploaded blob sent by this run. */
  sent?: number;
}

export interface CopyResult {
  digest: Digest;
  mediaType: string;
  size: number;
  blobs: CopiedBlob[];
  /** The sizes of the blobs uploaded (rather than found or mounted), resumed ones whole. */
  uploadedBytes: number;
  /** Bytes this run sent: without what an earlier, interrupted run had already uploaded. */
  sentBytes: number;
  platforms: string[];
}

/**
 * Copies an image (or a whole index with `all`) from a source into a destination repository: read the
 * manifests, plan the copy (copy-plan.ts decides), then carry the plan out. Blobs move with bounded
 * concurrency; manifests go last, children before their index, so that a failed copy never leaves a tag
 * pointing at missing content.
 */
export async function copyImage(
  source: ImageSource,
  dest: ImageDestination,
  tags: string[],
  options: CopyOptions,
): Promise<CopyResult> {
  const top = await source.topManifest();
  const choice = {
    all: options.all,
    platform: options.platform ?? hostPlatform(),
    description: source.description,
  };
  const children = new Map(
    await Promise.all(
      childrenToFetch(top, choice).map(
        async (child) => [child.digest as string, await source.manifest(child.digest)] as const,
      ),
    ),
  );
  const plan = planCopy({
    ...choice,
    top,
    children,
    tags,
    compression: options.compression,
    compressedEarlier: (diffId) => options.cache.compressedOf(diffId, compressorOf(options.compression)),
  });
  return executeCopy(plan, source, dest, options);
}

/** Carries out a copy plan: each blob once, step by step as `nextBlobStep` says, then the manifests in order. */
async function executeCopy(
  plan: CopyPlan,
  source: ImageSource,
  dest: ImageDestination,
  options: CopyOptions,
): Promise<CopyResult> {
  const limit = pLimit(Math.max(1, options.maxConcurrent));
  const planned = new Map(plan.blobs.map((blob) => [blob.descriptor.digest as string, blob]));
  const moving = new Map<string, Promise<DestinationBlob>>();
  const copied: CopiedBlob[] = [];
  const platforms: string[] = [];
  const emit = (event: CopyEvent): void => options.onEvent?.(event);

  const ensureBlob = (digest: Digest): Promise<DestinationBlob> => {
    let pending = moving.get(digest);
    if (!pending) {
      const blob = planned.get(digest);
      if (!blob) throw new Error(`copy plan: blob ${digest} is not planned`);
      const progress: BlobProgress = { present: new Map(), mountsRefused: 0 };
      pending = limit(() => moveBlob(blob, progress)).then(async (moved) => {
        if (moved) return moved;
        // Paused before sending: wait for the verdict outside the limit, then go on where it stopped.
        await verdict();
        const resumed = await limit(() => moveBlob(blob, progress));
        if (!resumed) throw new Error(`copy: ${digest} paused twice`);
        return resumed;
      });
      moving.set(digest, pending);
    }
    return pending;
  };

  // What must come before anything is sent, and whether it came.
  let verdictPromise: Promise<void> | undefined;
  let verdictGiven = options.beforeSending === undefined;
  const verdict = (): Promise<void> => {
    verdictPromise ??= (options.beforeSending?.() ?? Promise.resolve()).then(() => {
      verdictGiven = true;
    });
    return verdictPromise;
  };

  /** Moves a blob step by step; resolves to nothing when it pauses before sending, to wait for the verdict. */
  const moveBlob = async (
    blob: PlannedBlob,
    progress: BlobProgress,
  ): Promise<DestinationBlob | undefined> => {
    const { descriptor, kind, compress } = blob;
    const base = { type: 'blob' as const, source: descriptor.digest, size: descriptor.size, kind };
    const { present } = progress;
    const facts = progress;
    if (!progress.started) emit({ ...base, digest: descriptor.digest, state: 'checking' });
    progress.started = true;
    let prepared = progress.blob;
    for (;;) {
      const step = nextBlobStep(blob, facts);
      switch (step.step) {
        case 'check':
          present.set(step.digest, await dest.hasBlob(step.digest, options.signal));
          break;
        case 'prepare':
          prepared = compress
            ? await prepareLayer(
                source,
                descriptor,
                {
                  choice: options.compression,
                  level: options.compressionLevel,
                  cacheDir: options.cacheDir,
                  cache: options.cache,
                  onCompress: (read) =>
                    emit({ ...base, digest: descriptor.digest, state: 'compressing', read }),
                  // Nothing goes before the verdict: a layer then goes up from its spool once it is given.
                  ...(dest.putGrowingBlob && !options.beforeSending
                    ? { streamUpload: streamTo(dest, base) }
                    : {}),
                  ...(options.layerReads
                    ? { readTap: () => options.layerReads?.tap(descriptor.digest) }
                    : {}),
                },
                options.signal,
              )
            : asIs(source, descriptor);
          progress.blob = prepared;
          facts.prepared = {
            blob: destinationBlob(prepared),
            mountSources: dest.mountSources(prepared.digest),
          };
          if (prepared.uploaded !== undefined) {
            // Uploaded while compressed: nothing to check or mount, since it went up before its digest was known.
            present.set(prepared.digest, false);
            facts.sent = prepared.uploaded;
          }
          break;
        case 'mount':
          if (!verdictGiven) return undefined;
          if (await dest.mountBlob(step.digest, step.from, options.signal)) facts.mountedFrom = step.from;
          else facts.mountsRefused += 1;
          break;
        case 'upload':
          if (!verdictGiven) return undefined;
          if (!prepared)
            throw new Error(`copy plan: ${descriptor.digest} is to be uploaded before it is prepared`);
          facts.sent = await upload(prepared, base);
          break;
        case 'done':
          options.layerReads?.untapped(descriptor.digest);
          await prepared?.release();
          return done(step.blob, step.action, kind, descriptor.digest, step.from, step.sent);
      }
    }
  };

  /**
   * The streamed upload of a layer being compressed. Its progress is shown once the compressor is done and
   * the blob's size is known; until then the compressing progress (of the source) is the honest measure.
   */
  const streamTo =
    (destination: ImageDestination, base: { type: 'blob'; source: Digest; kind: 'config' | 'layer' }) =>
    (spool: GrowingSpool, key: string): Promise<number> => {
      let final: { digest: Digest; size: number } | undefined;
      spool.done.then(
        (done) => {
          final = done;
        },
        () => {},
      );
      const onBytes = (sent: number): void => {
        if (final) emit({ ...base, digest: final.digest, size: final.size, state: 'uploading', sent });
      };
      if (!destination.putGrowingBlob) throw new Error('copy: the destination cannot take a growing blob');
      return destination.putGrowingBlob(spool, key, onBytes, options.signal);
    };

  const upload = async (
    prepared: PreparedBlob,
    base: { type: 'blob'; source: Digest; kind: 'config' | 'layer' },
  ): Promise<number> => {
    const uploading = { ...base, digest: prepared.digest, size: prepared.size, state: 'uploading' as const };
    emit({ ...uploading, sent: 0 });
    try {
      return await dest.putBlob(prepared, (bytes) => emit({ ...uploading, sent: bytes }), options.signal);
    } catch (error) {
      // As-is blobs are checked by the destination, not here: its refusal means the source is damaged.
      if (error instanceof RegistryResponseError && error.ociCode === 'DIGEST_INVALID') {
        throw new BerthError(
          'BLOB_CORRUPT',
          `${source.description}: ${base.kind} ${prepared.digest} is damaged: its bytes do not match its digest (the registry refused them)`,
          { cause: error },
        );
      }
      throw error;
    }
  };

  const done = (
    blob: DestinationBlob,
    action: BlobAction,
    kind: 'config' | 'layer',
    sourceDigest: Digest,
    from?: string,
    sent?: number,
  ): DestinationBlob => {
    dest.recordBlob(blob.digest);
    copied.push({ digest: blob.digest, size: blob.size, action, ...(sent !== undefined ? { sent } : {}) });
    emit({
      type: 'blob',
      source: sourceDigest,
      digest: blob.digest,
      size: blob.size,
      kind,
      state: action,
      ...(from ? { from } : {}),
      ...(sent !== undefined ? { sent } : {}),
    });
    return blob;
  };

  const pushManifest = async (
    manifest: ManifestBlob,
    reference: string,
    platform?: string,
  ): Promise<void> => {
    await verdict();
    await dest.putManifest(reference, manifest, options.signal);
    emit({
      type: 'manifest',
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      reference,
      ...(platform ? { platform } : {}),
    });
  };

  // Each manifest, by its source digest, once pushed: what an index waits for.
  const pushed = new Map<string, Promise<ManifestBlob>>();
  const push = async (planned: PlannedManifest): Promise<ManifestBlob> => {
    if (planned.type === 'image') {
      const [, ...layers] = await Promise.all(planned.blobs.map(ensureBlob));
      const final = imageManifestToPush(planned.manifest, layers, options.format);
      await pushManifest(final, planned.tag ?? final.digest, planned.platform);
      if (planned.platform) platforms.push(planned.platform);
      return final;
    }
    const children = new Map(
      await Promise.all(
        planned.children.map(async (digest) => [digest as string, await pushedOf(digest)] as const),
      ),
    );
    const final = indexToPush(planned.manifest, children, options.format);
    await pushManifest(final, planned.tag ?? final.digest);
    return final;
  };
  const pushedOf = (digest: Digest): Promise<ManifestBlob> => {
    const pending = pushed.get(digest);
    if (!pending) throw new Error(`copy plan: an index comes before its child ${digest}`);
    return pending;
  };
  for (const manifest of plan.manifests) pushed.set(manifest.manifest.digest, push(manifest));
  const finals = await Promise.all(pushed.values());
  const result = finals.at(-1);
  if (!result) throw new Error('copy plan: no manifest to push');
  for (const tag of plan.moreTags) await pushManifest(result, tag);
  await options.cache.save().catch(() => {});
  return {
    digest: result.digest,
    mediaType: result.mediaType,
    size: result.bytes.length,
    blobs: copied,
    uploadedBytes: copied.filter((b) => b.action === 'uploaded').reduce((sum, b) => sum + b.size, 0),
    sentBytes: copied.reduce((sum, b) => sum + (b.sent ?? 0), 0),
    platforms,
  };
}

/** One blob's facts as the copy learns them, kept across a pause before sending. */
type BlobProgress = BlobFacts & {
  present: Map<Digest, boolean>;
  started?: boolean;
  blob?: PreparedBlob;
};

function destinationBlob(prepared: PreparedBlob): DestinationBlob {
  return {
    digest: prepared.digest,
    size: prepared.size,
    mediaType: prepared.mediaType,
    rewritten: prepared.rewritten,
  };
}

import pLimit from 'p-limit';
import { type Digest, digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { type Descriptor, imageIndexSchema, imageManifestSchema } from '../oci/manifest.js';
import { convertManifest, formatOf, type ManifestFormat } from '../oci/manifest-format.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { BlobInfoCache } from './blob-info-cache.js';
import type { ImageDestination } from './destinations/image-destination.js';
import { choosePlatform, formatPlatform, hostPlatform, type Platform } from './platform.js';
import {
  asIs,
  type CompressionChoice,
  gzipMediaType,
  isUncompressedLayer,
  type PreparedBlob,
  prepareLayer,
} from './prepared-blob.js';
import { RegistryResponseError } from './registry-client.js';
import type { ImageSource, ManifestBlob } from './sources/image-source.js';

export type BlobAction = 'exists' | 'mounted' | 'uploaded';

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
 * Copies an image (or a whole index with `all`) from a source into a destination repository: plan each
 * blob (there already, mountable, or to upload), move the bytes with bounded concurrency, and push the
 * manifests last, children before their index, so that a failed copy never leaves a tag pointing at
 * missing content.
 */
export async function copyImage(
  source: ImageSource,
  dest: ImageDestination,
  tags: string[],
  options: CopyOptions,
): Promise<CopyResult> {
  const limit = pLimit(Math.max(1, options.maxConcurrent));
  const blobs = new Map<
    string,
    Promise<{ prepared: Omit<PreparedBlob, 'open' | 'release'>; action: BlobAction }>
  >();
  const copied: CopiedBlob[] = [];
  const platforms: string[] = [];
  const emit = (event: CopyEvent): void => options.onEvent?.(event);

  const ensureBlob = (descriptor: Descriptor, kind: 'config' | 'layer') => {
    let pending = blobs.get(descriptor.digest);
    if (!pending) {
      pending = limit(() => moveBlob(descriptor, kind));
      blobs.set(descriptor.digest, pending);
    }
    return pending;
  };

  const moveBlob = async (descriptor: Descriptor, kind: 'config' | 'layer') => {
    const base = { type: 'blob' as const, source: descriptor.digest, size: descriptor.size, kind };
    emit({ ...base, digest: descriptor.digest, state: 'checking' });
    const compress =
      kind === 'layer' && isUncompressedLayer(descriptor.mediaType) && options.compression !== 'none';
    // What this blob may already be at the destination: the compressed blob an earlier run made of it, or itself.
    const known: { digest: Digest; size: number; mediaType: string; rewritten: boolean }[] = [];
    if (compress) {
      const earlier = options.cache.compressedOf(descriptor.digest, 'gzip');
      if (earlier) {
        known.push({ ...earlier, mediaType: gzipMediaType(descriptor.mediaType), rewritten: true });
      }
    }
    if (!compress || options.compression === 'auto') known.push({ ...descriptor, rewritten: false });
    for (const candidate of known) {
      if (await dest.hasBlob(candidate.digest, options.signal)) {
        return done(candidate, 'exists', kind, descriptor.digest);
      }
    }
    let prepared: PreparedBlob;
    if (compress) {
      prepared = await prepareLayer(
        source,
        descriptor,
        {
          choice: options.compression,
          level: options.compressionLevel,
          cacheDir: options.cacheDir,
          cache: options.cache,
          onCompress: (read) => emit({ ...base, digest: descriptor.digest, state: 'compressing', read }),
        },
        options.signal,
      );
      if (prepared.rewritten && (await dest.hasBlob(prepared.digest, options.signal))) {
        await prepared.release();
        return done(prepared, 'exists', kind, descriptor.digest);
      }
    } else prepared = asIs(source, descriptor);
    const from = await dest.mountBlob(prepared.digest, options.signal);
    if (from) {
      await prepared.release();
      return done(prepared, 'mounted', kind, descriptor.digest, from);
    }
    const uploading = { ...base, digest: prepared.digest, size: prepared.size, state: 'uploading' as const };
    emit({ ...uploading, sent: 0 });
    let sent: number;
    try {
      sent = await dest.putBlob(prepared, (bytes) => emit({ ...uploading, sent: bytes }), options.signal);
    } catch (error) {
      // As-is blobs are checked by the destination, not here: its refusal means the source is damaged.
      if (error instanceof RegistryResponseError && error.ociCode === 'DIGEST_INVALID') {
        throw new BerthError(
          'BLOB_CORRUPT',
          `${source.description}: ${kind} ${prepared.digest} is damaged: its bytes do not match its digest (the registry refused them)`,
          { cause: error },
        );
      }
      throw error;
    }
    await prepared.release();
    return done(prepared, 'uploaded', kind, descriptor.digest, undefined, sent);
  };

  const done = (
    blob: { digest: Digest; size: number; mediaType: string; rewritten: boolean },
    action: BlobAction,
    kind: 'config' | 'layer',
    sourceDigest: Digest,
    from?: string,
    sent?: number,
  ) => {
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
    return { prepared: blob, action };
  };

  /** Copies one image manifest's blobs, then pushes the manifest (rewritten if layers were compressed). */
  const copyManifest = async (
    manifest: ManifestBlob,
    reference: string | undefined,
    platform?: string,
  ): Promise<ManifestBlob> => {
    const parsed = imageManifestSchema.parse(JSON.parse(manifest.bytes.toString('utf8')));
    const results = await Promise.all([
      ensureBlob(parsed.config, 'config'),
      ...parsed.layers.map((layer) => ensureBlob(layer, 'layer')),
    ]);
    const layerResults = results.slice(1);
    let json = JSON.parse(manifest.bytes.toString('utf8')) as Record<string, unknown> & {
      layers: Record<string, unknown>[];
    };
    let changed = false;
    if (layerResults.some((r) => r.prepared.rewritten)) {
      json.layers = json.layers.map((layer, i) => {
        const r = layerResults[i]?.prepared;
        return r?.rewritten ? { ...layer, mediaType: r.mediaType, digest: r.digest, size: r.size } : layer;
      });
      changed = true;
    }
    if (options.format && formatOf(manifest.mediaType) !== options.format) {
      json = convertManifest({ mediaType: manifest.mediaType, ...json }, options.format) as typeof json;
      changed = true;
    }
    const final = changed ? serialize(json, manifest.mediaType) : manifest;
    await pushManifest(final, reference ?? final.digest, platform);
    if (platform) platforms.push(platform);
    return final;
  };

  const pushManifest = async (
    manifest: ManifestBlob,
    reference: string,
    platform?: string,
  ): Promise<void> => {
    await dest.putManifest(reference, manifest, options.signal);
    emit({
      type: 'manifest',
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      reference,
      ...(platform ? { platform } : {}),
    });
  };

  const top = await source.topManifest();
  let result: ManifestBlob;
  const [firstTag, ...moreTags] = tags;
  if (isIndexMediaType(top.mediaType)) {
    const index = imageIndexSchema.parse(JSON.parse(top.bytes.toString('utf8')));
    if (options.all) {
      const children = await Promise.all(
        index.manifests.map(async (entry) => {
          const child = await source.manifest(entry.digest);
          if (isIndexMediaType(child.mediaType)) {
            throw new BerthError(
              'UNSUPPORTED_IMAGE',
              `${source.description}: nested indexes are not supported`,
            );
          }
          const platform = entry.platform ? formatPlatform(entry.platform) : undefined;
          return { entry, final: await copyManifest(child, undefined, platform) };
        }),
      );
      const converted = options.format && formatOf(top.mediaType) !== options.format;
      if (converted || children.some((c) => c.final.digest !== c.entry.digest)) {
        const replaced = new Map(
          children.map((c) => [
            c.entry.digest as string,
            { digest: c.final.digest, size: c.final.bytes.length, mediaType: c.final.mediaType },
          ]),
        );
        let json = JSON.parse(top.bytes.toString('utf8')) as Record<string, unknown> & {
          manifests: Record<string, unknown>[];
        };
        json.manifests = json.manifests.map((m) => ({ ...m, ...replaced.get(String(m.digest)) }));
        if (converted && options.format) {
          json = convertManifest(
            { mediaType: top.mediaType, ...json },
            options.format,
            replaced,
          ) as typeof json;
        }
        result = serialize(json, top.mediaType);
      } else result = top;
      await pushManifest(result, firstTag ?? result.digest);
    } else {
      const wanted = options.platform ?? hostPlatform();
      const entry = choosePlatform(index.manifests, wanted, source.description);
      const child = await source.manifest(entry.digest);
      result = await copyManifest(child, firstTag, formatPlatform(entry.platform ?? wanted));
    }
  } else {
    result = await copyManifest(top, firstTag);
  }
  for (const tag of moreTags) await pushManifest(result, tag);
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

/** Manifest bytes Berth writes itself (after a rewrite or a conversion), with their type and digest. */
function serialize(json: Record<string, unknown>, mediaType: string): ManifestBlob {
  const bytes = Buffer.from(JSON.stringify(json, null, 3));
  return {
    bytes,
    mediaType: typeof json.mediaType === 'string' ? json.mediaType : mediaType,
    digest: digestOf(bytes),
  };
}

import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { projectOf } from '../access/principal.js';
import type { Clock } from '../clock/clock.js';
import type { EventType, NewEvent } from '../metadata/event-store.js';
import type { MetadataQueries, MetadataStore, Page } from '../metadata/metadata-store.js';
import {
  type Digest,
  digestAlgorithm,
  digestOf,
  EMPTY_JSON_BYTES,
  EMPTY_JSON_DIGEST,
} from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { type Descriptor, parseManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { RepoName, Tag } from '../oci/names.js';
import { rangeHeader } from '../oci/upload-range.js';
import type { BlobInfo, BlobStore, UploadWriter } from '../storage/blob-store.js';
import type { ByteRange } from '../storage/object-driver.js';
import { acceptsMediaType } from './content-negotiation.js';
import type { PullRecorder } from './pull-log.js';
import type { ManifestTrust } from './pull-trust.js';
import type { ManifestAdmission } from './push-admission.js';
import { rethrowStorageFailure, storageFailure } from './storage-failure.js';
import type { TagImmutabilityGuard } from './tag-immutability-guard.js';

export interface RegistryOptions {
  deletes: boolean;
  maxManifestSize: number;
  /** A mount without a source finds the blob in a repository the caller may pull (absent: on, as in config). */
  mountDiscovery?: boolean | undefined;
  /**
   * Blobs live in a remote object store (S3): a HEAD answers from metadata alone, without a round trip to the
   * store, so bytes moved aside by `berth fsck --repair` still read as present until a GET (absent: false).
   */
  headFromMetadata?: boolean | undefined;
  /** Durable events (push, tag, delete, mount) written in each change's transaction (absent: on). */
  events?: boolean | undefined;
  /** Projects' admission policies, checked before a manifest is stored (absent: no admission). */
  admission?: ManifestAdmission | undefined;
  /** Projects' trust policies, checked before a manifest is served (absent: every manifest is served). */
  trust?: ManifestTrust | undefined;
}

/**
 * Which repositories the caller may pull from: `'any'` when access is not checked, else the decision for one
 * repository. Use cases that read across repositories (mounts, the catalog) take it, so no caller can skip it.
 */
export type PullAccess = 'any' | ((repo: RepoName) => Promise<boolean>);

// A mount without `from` considers at most this many repositories linking the blob: one bounded query.
const MOUNT_CANDIDATES = 100;
// How long a claim keeps collectors away from a blob whose bytes are being published (a crash leaves it to
// lapse); longer than any publish, which is one rename or one object copy.
const CLAIM_HOLD_MS = 10 * 60_000;
// A collector drops a marked row right after deleting its bytes; a commit waits that long at most.
const CLAIM_ATTEMPTS = 200;
const CLAIM_RETRY_MS = 25;
// The catalog asks for this many names at least per query while it filters by access.
const CATALOG_BATCH = 100;

/** A manifest reference from a URL: a tag or a digest, already parsed. */
export type ManifestRef = { tag: Tag } | { digest: Digest };

export interface ManifestResult {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Absent for HEAD. */
  content?: Buffer;
}

export interface BlobRead {
  size: number;
  /** The range served, when the request asked for one. */
  range?: ByteRange;
  stream?: Readable;
  /** Where the client fetches the bytes itself (a presigned object store URL), instead of `stream`. */
  redirect?: string;
}

export interface UploadState {
  id: string;
  size: number;
}

export interface PutManifestResult {
  digest: Digest;
  subject?: Digest;
  tags: string[];
}

export interface ReferrersResult {
  manifests: Descriptor[];
  filtered: boolean;
}

export interface BodyInput {
  body: Readable;
  /** From Content-Range: where the chunk starts and how long it is. */
  offset?: number | undefined;
  length?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The Distribution API use cases. Takes parsed names and digests, throws `RegistryError`, knows nothing of
 * HTTP. Bytes go to the blob store first; only then are rows written, so a crash can leave an orphan blob
 * (collected later) but never a row pointing at missing bytes.
 */
export class Registry {
  constructor(
    private readonly blobs: BlobStore,
    private readonly meta: MetadataStore,
    private readonly options: RegistryOptions,
    private readonly log: Logger,
    /** Dates upload sessions (opened, last written), which the upload purge compares with its own now. */
    private readonly clock: Clock,
    /** Where manifest pulls are counted (retention's "recently pulled"); none in tools that only read. */
    private readonly pulls?: PullRecorder,
    /** Tag immutability rules; absent, no tag is immutable. */
    private readonly immutability?: TagImmutabilityGuard | undefined,
  ) {}

  get maxManifestSize(): number {
    return this.options.maxManifestSize;
  }

  /** Whether deletes exist on this registry at all (the HTTP layer registers no DELETE without them). */
  get deletes(): boolean {
    return this.options.deletes;
  }

  // ---- manifests ----

  async getManifest(
    repo: RepoName,
    ref: ManifestRef,
    accept: string[],
    withContent: boolean,
    /** Who pulls, for the audit log of a refusal; absent for anonymous callers. */
    actor?: string,
  ): Promise<ManifestResult> {
    const row = withContent ? await this.meta.manifest(repo, ref) : await this.meta.manifestInfo(repo, ref);
    if (!row) throw await this.manifestMissing(repo, ref);
    await this.options.trust?.check({
      repo,
      digest: row.digest,
      tag: 'tag' in ref ? ref.tag : undefined,
      actor,
    });
    if (!acceptsMediaType(accept, row.mediaType)) {
      throw new RegistryError('MANIFEST_UNKNOWN', {
        reason: 'the manifest is not available in any media type the client accepts',
        mediaType: row.mediaType,
      });
    }
    const result: ManifestResult = { digest: row.digest, mediaType: row.mediaType, size: row.size };
    if ('content' in row) {
      result.content = row.content as Buffer;
      this.pulls?.record(row.id, this.clock.now());
    }
    return result;
  }

  async putManifest(
    repo: RepoName,
    ref: ManifestRef,
    content: Buffer,
    contentType: string | undefined,
    extraTags: Tag[] = [],
    /** Who pushes, for the event; absent for anonymous callers. */
    actor?: string,
  ): Promise<PutManifestResult> {
    if (content.length > this.options.maxManifestSize) {
      throw new RegistryError('MANIFEST_TOO_LARGE', {
        size: content.length,
        limit: this.options.maxManifestSize,
      });
    }
    const algorithm = 'digest' in ref ? digestAlgorithm(ref.digest) : 'sha256';
    const digest = digestOf(content, algorithm);
    if ('digest' in ref && ref.digest !== digest) {
      throw new RegistryError('DIGEST_INVALID', { expected: ref.digest, actual: digest });
    }
    const parsed = parseManifest(content, contentType);
    const tags = [
      ...new Set<string>(['tag' in ref ? ref.tag : undefined, ...extraTags].filter((t) => t !== undefined)),
    ];
    // The empty descriptor's content is known to everyone; a manifest may use it without pushing `{}`.
    const requiredBlobs = parsed.blobs.filter((d) => d !== EMPTY_JSON_DIGEST);
    const immutability = this.immutability;
    const rules = immutability && tags.length > 0 ? await immutability.rulesFor(repo) : [];
    // Before the transaction: a refused image leaves no row and no tag.
    await this.options.admission?.check({ repo, digest, parsed, tags, actor });
    await this.meta.tx(async (tx) => {
      const repositoryId = await tx.ensureRepository(repo);
      const blobSizes = await tx.linkedBlobSizes(repositoryId, requiredBlobs);
      const manifestSizes = await tx.manifestSizes(repositoryId, parsed.manifests);
      const missing = [
        ...requiredBlobs.filter((d) => !blobSizes.has(d)),
        ...parsed.manifests.filter((d) => !manifestSizes.has(d)),
      ];
      if (missing.length > 0) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { missing });
      // A collector that has not marked these blobs yet now finds them referenced (this transaction's
      // references, or their reference time); one that marked them first made them read as unknown above.
      const touched = await tx.touchBlobs(requiredBlobs, this.clock.now());
      const collected = requiredBlobs.filter((d) => !touched.has(d));
      if (collected.length > 0) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { missing: collected });
      if (!blobSizes.has(EMPTY_JSON_DIGEST)) blobSizes.set(EMPTY_JSON_DIGEST, EMPTY_JSON_BYTES.length);
      // The spec keeps SIZE_INVALID for an upload whose bytes do not match its length; here the bytes are
      // fine and the manifest describes them wrongly, which is a check of the manifest: MANIFEST_INVALID.
      const wrongSizes = [
        ...parsed.blobDescriptors.map((d) => ({ d, stored: blobSizes.get(d.digest) })),
        ...(parsed.children ?? []).map((d) => ({ d, stored: manifestSizes.get(d.digest) })),
      ]
        .filter(({ d, stored }) => stored !== undefined && stored !== d.size)
        .map(({ d, stored }) => ({ digest: d.digest, size: d.size, stored }));
      if (wrongSizes.length > 0) {
        throw new RegistryError('MANIFEST_INVALID', {
          reason: 'a descriptor size differs from the stored content',
          descriptors: wrongSizes,
        });
      }
      const id = await tx.putManifest(repositoryId, {
        digest,
        mediaType: parsed.mediaType,
        artifactType: parsed.referrerArtifactType,
        subjectDigest: parsed.subject?.digest,
        annotations: parsed.annotations,
        content,
        blobs: parsed.blobs,
        manifests: parsed.manifests,
      });
      if (immutability) await immutability.checkPush(tx, rules, repo, tags, digest);
      await tx.setTags(repositoryId, id, tags);
      // The push names the URL's tag; tags added with `?tag=` are tag events of their own.
      const pushedTag = 'tag' in ref ? ref.tag : undefined;
      await this.recordEvents(tx, [
        this.event('push', repo, actor, { digest, tag: pushedTag, payload: { mediaType: parsed.mediaType } }),
        ...tags.filter((t) => t !== pushedTag).map((tag) => this.event('tag', repo, actor, { digest, tag })),
      ]);
    });
    this.log.info({ repo, digest, mediaType: parsed.mediaType, tags }, 'manifest stored');
    const result: PutManifestResult = { digest, tags };
    if (parsed.subject) result.subject = parsed.subject.digest;
    return result;
  }

  /**
   * Deletes a tag, or a manifest with its tags. A manifest that a tag still needs (an index's child reached
   * from a tag) is refused with DENIED unless `force` (a system administrator's decision, made by the caller).
   */
  async deleteManifest(repo: RepoName, ref: ManifestRef, options: DeleteOptions = {}): Promise<void> {
    this.requireDeletes();
    requireForceRight(options);
    const immutability = this.immutability;
    const rules = immutability ? await immutability.rulesFor(repo) : [];
    const deleted =
      'tag' in ref
        ? await this.meta.tx(async (tx) => {
            if (rules.length > 0) await immutability?.checkTagDelete(tx, rules, repo, ref.tag);
            const removed = await tx.deleteTag(repo, ref.tag);
            if (removed) await this.recordEvents(tx, [this.event('delete', repo, options.actor, ref)]);
            return removed;
          })
        : await this.meta.tx(async (tx) => {
            const repositoryId = await tx.repositoryId(repo);
            if (repositoryId === undefined) return false;
            await immutability?.checkManifestDelete(tx, rules, repo, repositoryId, ref.digest);
            // Delete, then check, in one transaction: the delete's row locks make a concurrent push that
            // needs the manifest either finish first (and be seen here) or find it gone.
            const removed = await tx.deleteManifest(repo, ref.digest);
            if (removed && !options.force) await refuseIfTagged(tx, repositoryId, ref.digest, 'manifest');
            if (removed) {
              await this.recordEvents(tx, [
                this.event('delete', repo, options.actor, {
                  digest: ref.digest,
                  payload: { kind: 'manifest' },
                }),
              ]);
            }
            return removed;
          });
    if (!deleted) throw await this.manifestMissing(repo, ref);
    this.log.info(
      { repo, ...ref, forced: options.force === true },
      'tag' in ref ? 'tag deleted' : 'manifest deleted',
    );
  }

  private async manifestMissing(repo: RepoName, ref: ManifestRef): Promise<RegistryError> {
    if ((await this.meta.repositoryId(repo)) === undefined)
      return new RegistryError('NAME_UNKNOWN', { name: repo });
    return new RegistryError('MANIFEST_UNKNOWN', 'tag' in ref ? { tag: ref.tag } : { digest: ref.digest });
  }

  // ---- blobs ----

  async statBlob(repo: RepoName, digest: Digest): Promise<number> {
    const size = await this.meta.linkedBlobSize(repo, digest);
    if (size !== undefined) return size;
    if (digest === EMPTY_JSON_DIGEST) return EMPTY_JSON_BYTES.length;
    throw new RegistryError('BLOB_UNKNOWN', { digest });
  }

  /** Opens a blob for reading; `range` is applied and checked against the size (`BLOB_RANGE_INVALID`). */
  async readBlob(
    repo: RepoName,
    digest: Digest,
    range: RangeRequest | undefined,
    withContent: boolean,
    signal?: AbortSignal,
  ): Promise<BlobRead> {
    const size = await this.statBlob(repo, digest);
    const resolved = range ? resolveRange(range, size) : undefined;
    const result: BlobRead = { size };
    if (resolved) result.range = resolved;
    if (!withContent) {
      // Bytes moved aside as corrupt (`berth fsck --repair`) read as missing, so that clients push them again.
      if (!this.options.headFromMetadata && digest !== EMPTY_JSON_DIGEST && !(await this.blobs.stat(digest)))
        throw new RegistryError('BLOB_UNKNOWN', { digest });
      return result;
    }
    if (digest === EMPTY_JSON_DIGEST && !(await this.blobs.stat(digest))) {
      const bytes = resolved ? EMPTY_JSON_BYTES.subarray(resolved.start, resolved.end + 1) : EMPTY_JSON_BYTES;
      result.stream = Readable.from([bytes]);
      return result;
    }
    // Whole blobs only: a range is served here, where it was checked against the size.
    const redirect = resolved ? undefined : await this.blobs.redirectUrl(digest);
    if (redirect) {
      result.redirect = redirect;
      return result;
    }
    result.stream = await this.blobs.read(digest, resolved, signal).catch(rethrowStorageFailure);
    return result;
  }

  /** Unlinks a blob from the repository; refused with DENIED while a tag needs it, unless `force`. */
  async deleteBlob(repo: RepoName, digest: Digest, options: DeleteOptions = {}): Promise<void> {
    this.requireDeletes();
    requireForceRight(options);
    const unlinked = await this.meta.tx(async (tx) => {
      const repositoryId = await tx.repositoryId(repo);
      if (repositoryId === undefined) return false;
      // Unlink, then check (see deleteManifest): a refusal rolls the unlink back.
      const removed = await tx.unlinkBlob(repo, digest);
      if (removed && !options.force) await refuseIfTagged(tx, repositoryId, digest, 'blob');
      if (removed) {
        await this.recordEvents(tx, [
          this.event('delete', repo, options.actor, { digest, payload: { kind: 'blob' } }),
        ]);
      }
      return removed;
    });
    if (!unlinked) throw new RegistryError('BLOB_UNKNOWN', { digest });
    // The bytes stay until garbage collection finds no repository linking them.
    this.log.info({ repo, digest, forced: options.force === true }, 'blob unlinked');
  }

  // ---- uploads ----

  /** Opens an upload session owned by `owner` (when access is checked): nobody else may use it. */
  async startUpload(repo: RepoName, owner?: string): Promise<UploadState> {
    const writer = await this.blobs.createUpload().catch(rethrowStorageFailure);
    await this.meta.createUpload(writer.id, repo, this.clock.now(), owner);
    return { id: writer.id, size: 0 };
  }

  /** A whole blob in one request (`POST ?digest=`). Nothing is kept unless the digest matches. */
  async uploadMonolithic(repo: RepoName, digest: Digest, input: BodyInput): Promise<BlobInfo> {
    const writer = await this.blobs.createUpload().catch(rethrowStorageFailure);
    try {
      await writer.append(input.body, { length: input.length, signal: input.signal });
      return await this.commit(repo, writer, digest);
    } catch (error) {
      await writer.cancel().catch(() => {});
      throw storageFailure(error) ?? error;
    }
  }

  /**
   * Links a blob from another repository the caller may pull: `from` when named, else (mount discovery) the
   * first repository by name that links the blob and that the caller may pull. Undefined when there is none:
   * the caller cannot tell a blob it may not read from a blob that does not exist.
   */
  async mount(
    repo: RepoName,
    digest: Digest,
    from: RepoName | undefined,
    access: PullAccess,
    actor?: string,
  ): Promise<BlobInfo | undefined> {
    if (from !== undefined) {
      return access === 'any' || (await access(from)) ? this.link(repo, digest, from, actor) : undefined;
    }
    const source = await this.mountSource(digest, access);
    return source === undefined ? undefined : this.link(repo, digest, source, actor);
  }

  /** The repository a mount without `from` takes the blob from; one query, then the access check. */
  private async mountSource(digest: Digest, access: PullAccess): Promise<RepoName | undefined> {
    if (this.options.mountDiscovery === false) return undefined;
    const candidates = await this.meta.repositoriesLinking(digest, MOUNT_CANDIDATES);
    for (const candidate of candidates) {
      if (access === 'any' || (await access(candidate))) return candidate;
    }
    return undefined;
  }

  private async link(
    repo: RepoName,
    digest: Digest,
    from: RepoName,
    actor: string | undefined,
  ): Promise<BlobInfo | undefined> {
    const size = await this.meta.linkedBlobSize(from, digest);
    if (size === undefined) return undefined;
    const now = this.clock.now();
    // Claimed before the bytes are checked: a collector cannot mark the blob between the check and the link.
    if ((await this.meta.claimBlob(digest, size, now, now + CLAIM_HOLD_MS)) === 'deleting') return undefined;
    const stored = await this.blobs.stat(digest);
    if (!stored) return undefined;
    await this.meta.tx(async (tx) => {
      await tx.linkBlob(await tx.ensureRepository(repo), digest, stored.size, this.clock.now());
      await this.recordEvents(tx, [this.event('mount', repo, actor, { digest, payload: { from } })]);
    });
    this.log.info({ repo, digest, from }, 'blob mounted');
    return { digest, size: stored.size };
  }

  async uploadStatus(repo: RepoName, id: string, owner?: string): Promise<UploadState> {
    const writer = await this.openUpload(repo, id, owner);
    return { id, size: writer.size };
  }

  async appendUpload(repo: RepoName, id: string, input: BodyInput, owner?: string): Promise<UploadState> {
    const writer = await this.openUpload(repo, id, owner);
    try {
      const size = await writer.append(input.body, input);
      await this.meta.touchUpload(id, this.clock.now());
      return { id, size };
    } catch (error) {
      throw withUploadRange(error, writer.size);
    }
  }

  /** Closes an upload: the optional last chunk, then the digest check and publish. */
  async finishUpload(
    repo: RepoName,
    id: string,
    digest: Digest,
    input: BodyInput | undefined,
    owner?: string,
  ): Promise<BlobInfo> {
    const writer = await this.openUpload(repo, id, owner);
    if (input) {
      try {
        await writer.append(input.body, input);
      } catch (error) {
        throw withUploadRange(error, writer.size);
      }
    }
    try {
      return await this.commit(repo, writer, digest);
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'DIGEST_INVALID') await this.meta.deleteUpload(id);
      throw error;
    }
  }

  async cancelUpload(repo: RepoName, id: string, owner?: string): Promise<void> {
    const writer = await this.openUpload(repo, id, owner);
    await writer.cancel();
    await this.meta.deleteUpload(id);
  }

  private async openUpload(repo: RepoName, id: string, owner?: string): Promise<UploadWriter> {
    const row = await this.meta.getUpload(id);
    // A session belongs to the repository it was started in and to who started it; for anyone else it
    // does not exist.
    if (!row || row.repository !== repo || (row.owner !== undefined && row.owner !== owner)) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { upload: id });
    }
    try {
      return await this.blobs.resumeUpload(id);
    } catch (error) {
      const failure = storageFailure(error) ?? error;
      if (failure instanceof RegistryError && failure.kind === 'BLOB_UPLOAD_UNKNOWN')
        await this.meta.deleteUpload(id);
      throw failure;
    }
  }

  private async commit(repo: RepoName, writer: UploadWriter, digest: Digest): Promise<BlobInfo> {
    await this.claimForPublish(digest, writer.size);
    const blob = await writer.commit(digest).catch(rethrowStorageFailure);
    await this.meta.tx(async (tx) => {
      await tx.linkBlob(await tx.ensureRepository(repo), blob.digest, blob.size, this.clock.now());
      await tx.deleteUpload(writer.id);
    });
    this.log.info({ repo, digest: blob.digest, size: blob.size }, 'blob upload committed');
    return blob;
  }

  // ---- events ----

  private event(
    type: EventType,
    repo: RepoName,
    actor: string | undefined,
    fields: Pick<NewEvent, 'digest' | 'tag' | 'payload'>,
  ): NewEvent {
    return { type, at: this.clock.now(), repository: repo, project: projectOf(repo), actor, ...fields };
  }

  /** Inside the change's transaction: a rollback takes the event with it. */
  private async recordEvents(tx: MetadataQueries, events: NewEvent[]): Promise<void> {
    if (this.options.events !== false) await tx.recordEvents(events);
  }

  /**
   * Bytes first, then the record, and no collector in between: the blob's row is claimed before the bytes are
   * published, so a collector cannot mark it and then delete the bytes this commit put in place. A row a
   * collector marked already is waited out (its bytes go, then its row), and the commit publishes afresh.
   */
  private async claimForPublish(digest: Digest, size: number): Promise<void> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
      const now = this.clock.now();
      if ((await this.meta.claimBlob(digest, size, now, now + CLAIM_HOLD_MS)) === 'claimed') return;
      await delay(CLAIM_RETRY_MS);
    }
    throw new RegistryError('UNAVAILABLE', { reason: 'the blob is being garbage collected', digest });
  }

  // ---- discovery ----

  async listTags(repo: RepoName, page: Page): Promise<string[]> {
    const id = await this.meta.repositoryId(repo);
    if (id === undefined) throw new RegistryError('NAME_UNKNOWN', { name: repo });
    return this.meta.listTags(id, page);
  }

  /** A page of repository names, in order: only those the caller may pull from. */
  async catalog(
    page: { after?: string | undefined; limit: number },
    access: PullAccess,
  ): Promise<RepoName[]> {
    if (access === 'any') return this.meta.listRepositories(page);
    const visible: RepoName[] = [];
    let cursor = page.after;
    while (visible.length < page.limit) {
      const limit = Math.max(page.limit * 2, CATALOG_BATCH);
      const batch = await this.meta.listRepositories({ after: cursor, limit });
      for (const name of batch) {
        if (visible.length < page.limit && (await access(name))) visible.push(name);
      }
      if (batch.length < limit) break;
      cursor = batch[batch.length - 1];
    }
    return visible;
  }

  async referrers(repo: RepoName, subject: Digest, artifactType?: string): Promise<ReferrersResult> {
    const rows = await this.meta.listReferrers(repo, subject, artifactType);
    const manifests = rows.map((row) => {
      const d: Descriptor = { mediaType: row.mediaType, digest: row.digest, size: row.size };
      if (row.artifactType) d.artifactType = row.artifactType;
      if (row.annotations) d.annotations = row.annotations;
      return d;
    });
    return { manifests, filtered: artifactType !== undefined };
  }

  private requireDeletes(): void {
    if (!this.options.deletes)
      throw new RegistryError('UNSUPPORTED', { reason: 'deletes are disabled on this registry' });
  }
}

export const REFERRERS_MEDIA_TYPE = MediaType.ociIndex;

export interface DeleteOptions {
  /** Delete even what a tag still needs, leaving that tag unpullable: for system administrators only. */
  force?: boolean | undefined;
  /** Whether the caller is a system administrator (or access is not checked: the operator). */
  systemAdmin?: boolean | undefined;
  /** Who deletes, for the event. */
  actor?: string | undefined;
}

/**
 * A forced delete leaves a tag unpullable: only a system administrator may ask for one. Anyone else asking is
 * refused with DENIED, so that a script never mistakes the parameter for having worked.
 */
function requireForceRight(options: DeleteOptions): void {
  if (!options.force || options.systemAdmin) return;
  throw new RegistryError(
    'DENIED',
    { reason: 'only a system administrator may force a delete' },
    {},
    'only a system administrator may force a delete (force=true)',
  );
}

/** DENIED, naming a manifest and tag, when a tag still needs the blob or child manifest. */
async function refuseIfTagged(
  tx: MetadataQueries,
  repositoryId: number,
  digest: Digest,
  kind: 'blob' | 'manifest',
): Promise<void> {
  const user = await tx.taggedUserOf(repositoryId, digest, kind);
  if (!user) return;
  throw new RegistryError(
    'DENIED',
    { reason: 'still referenced by a tagged manifest', digest, manifest: user.manifest, tag: user.tag },
    {},
    `${kind} ${digest} is referenced by manifest ${user.manifest} (tag ${user.tag}); ` +
      'delete or move that tag first, or have a system administrator force the delete',
  );
}

/** A `Range: bytes=` request: `start-end`, `start-` or the suffix form `-length`. */
export type RangeRequest = { start: number; end?: number } | { suffix: number };

/** Turns a range request into absolute inclusive bounds; the end is clamped to the blob as RFC 9110 says. */
export function resolveRange(range: RangeRequest, size: number): ByteRange {
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) throw rangeError(size);
    return { start: Math.max(size - range.suffix, 0), end: size - 1 };
  }
  if (range.start >= size || (range.end !== undefined && range.end < range.start)) throw rangeError(size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

function rangeError(size: number): RegistryError {
  return new RegistryError('BLOB_RANGE_INVALID', { size }, { 'Content-Range': `bytes */${size}` });
}

/** A failed append, as a registry error where it is one; a range error tells the client where the upload stands. */
function withUploadRange(caught: unknown, size: number): unknown {
  const error = storageFailure(caught) ?? caught;
  if (error instanceof RegistryError && error.kind === 'RANGE_INVALID' && !error.headers.Range) {
    return new RegistryError('RANGE_INVALID', error.detail, { ...error.headers, Range: rangeHeader(size) });
  }
  return error;
}

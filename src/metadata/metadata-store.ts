import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import type { Page } from '../oci/page.js';
import type { AccessStore } from './access-store.js';
import type { AdmissionStore } from './admission-store.js';
import type { EventStore, NewEvent } from './event-store.js';
import type { GcStore } from './gc-store.js';
import type { ImmutabilityStore } from './immutability-store.js';
import type { LeaseStore } from './lease-store.js';
import type { ReportStore } from './report-store.js';
import type { RepositoryStore } from './repository-store.js';
import type { RetentionStore } from './retention-store.js';
import type { TrustStore } from './trust-store.js';
import type { WebhookStore } from './webhook-store.js';

export interface ManifestRecord {
  id: number;
  repositoryId: number;
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: Digest | null;
  annotations: Record<string, string> | null;
  size: number;
  createdAt: number;
}

export interface ManifestWithContent extends ManifestRecord {
  content: Buffer;
}

export interface NewManifest {
  digest: Digest;
  mediaType: string;
  artifactType?: string | undefined;
  subjectDigest?: Digest | undefined;
  annotations?: Record<string, string> | undefined;
  content: Buffer;
  /** Blobs (config, layers) the manifest references. */
  blobs: Digest[];
  /** Child manifests an index references. */
  manifests: Digest[];
}

export type ManifestLookup = { tag: string } | { digest: Digest };

export interface UploadRecord {
  id: string;
  repository: RepoName;
  createdAt: number;
  updatedAt: number;
  owner?: string | undefined;
}

export type { Page } from '../oci/page.js';

/** The queries the registry needs, run on the store or inside one transaction. */
export interface MetadataQueries {
  repositoryId(name: RepoName): Promise<number | undefined>;
  /** The repository's id, creating the row when needed. */
  ensureRepository(name: RepoName): Promise<number>;
  listRepositories(page: Page): Promise<RepoName[]>;

  /**
   * Records bytes that are now in the blob store, and links them to a repository; `now` is its reference
   * time for garbage collection. Throws `UNAVAILABLE` when a collector marked the blob meanwhile.
   */
  linkBlob(repositoryId: number, digest: Digest, size: number, now?: number): Promise<void>;
  /**
   * Keeps collectors away from a blob until `until` before its bytes are published (upload commit, mount):
   * `deleting` when a collector marked it already, and the caller must wait for the row to go.
   */
  claimBlob(digest: Digest, size: number, now: number, until: number): Promise<'claimed' | 'deleting'>;
  /** Moves the reference time of blobs a manifest names to `now`; returns those not marked by a collector. */
  touchBlobs(digests: Digest[], now: number): Promise<Set<Digest>>;
  /** Size of a blob linked to the repository, or undefined when it is not linked there. */
  linkedBlobSize(name: RepoName, digest: Digest): Promise<number | undefined>;
  /** Of the given digests, those not linked to the repository. */
  unlinkedBlobs(repositoryId: number, digests: Digest[]): Promise<Digest[]>;
  /** Removes a blob's link from a repository; false when it was not linked. */
  unlinkBlob(name: RepoName, digest: Digest): Promise<boolean>;

  /** Of the given digests, those that are not manifests of the repository. */
  missingManifests(repositoryId: number, digests: Digest[]): Promise<Digest[]>;
  /** Stores a manifest (a no-op when the repository has it) and returns its row id. */
  putManifest(repositoryId: number, manifest: NewManifest): Promise<number>;
  /** Points tags at a manifest, in the same transaction as the manifest when called inside `tx`. */
  setTags(repositoryId: number, manifestId: number, tags: string[]): Promise<void>;
  /** A manifest of the repository by tag or digest, with its bytes. */
  manifest(name: RepoName, ref: ManifestLookup): Promise<ManifestWithContent | undefined>;
  /** The same without the bytes, for HEAD requests. */
  manifestInfo(name: RepoName, ref: ManifestLookup): Promise<ManifestRecord | undefined>;
  /** Deletes a manifest and every tag that points at it; false when the repository does not have it. */
  deleteManifest(name: RepoName, digest: Digest): Promise<boolean>;
  deleteTag(name: RepoName, tag: string): Promise<boolean>;
  listTags(repositoryId: number, page: Page): Promise<string[]>;
  /** Manifests of the repository whose `subject` is the digest, optionally of one artifact type. */
  listReferrers(name: RepoName, subject: Digest, artifactType?: string): Promise<ManifestRecord[]>;

  /** `owner` names who started it (a user or robot), so nobody else can write to it. */
  createUpload(id: string, repository: RepoName, now: number, owner?: string): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  touchUpload(id: string, now: number): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Ids of upload sessions last written before `before` (milliseconds since the epoch). */
  staleUploads(before: number, limit: number): Promise<string[]>;

  /** Sizes of the given blobs that are linked to the repository; the others are absent from the map. */
  linkedBlobSizes(repositoryId: number, digests: Digest[]): Promise<Map<Digest, number>>;
  /** Sizes of the given manifests that the repository has; the others are absent from the map. */
  manifestSizes(repositoryId: number, digests: Digest[]): Promise<Map<Digest, number>>;
  /**
   * A tagged manifest of the repository that still needs the blob or child manifest: one that references it
   * and carries a tag, or is reached from a tag through indexes. `subject` is no reference: a referrer does
   * not need its subject. Undefined when no tag needs it.
   */
  taggedUserOf(
    repositoryId: number,
    digest: Digest,
    kind: 'blob' | 'manifest',
  ): Promise<TaggedUser | undefined>;

  /** Writes events; inside `tx`, in the same transaction as the change they describe (both or neither). */
  recordEvents(events: NewEvent[]): Promise<void>;
}

/** Who needs a digest: the manifest that references it, and a tag from which that manifest is reached. */
export interface TaggedUser {
  manifest: Digest;
  tag: string;
}

export interface MetadataStore extends MetadataQueries {
  readonly dialect: 'sqlite' | 'postgres';
  /** Users, robots, projects, roles, audit log, signing keys. */
  readonly access: AccessStore;
  /** Events: listing by id, pruning (writes go through `recordEvents`, in the change's transaction). */
  readonly events: EventStore;
  /** Retention policies, runs and last pulls. */
  readonly retention: RetentionStore;
  /** Tag immutability rules per project. */
  readonly immutability: ImmutabilityStore;
  /** Leases that keep each background job on one node at a time. */
  readonly leases: LeaseStore;
  /** Garbage collection: marking and dropping blobs, untagged manifests, runs. */
  readonly gc: GcStore;
  /** Projects' admission policies (issue 14). */
  readonly admission: AdmissionStore;
  /** Projects' trust policies (issue 14). */
  readonly trust: TrustStore;
  /** Whole repositories: removal, storage usage. */
  readonly repositories: RepositoryStore;
  readonly webhooks: WebhookStore;
  /** What `berth report` reads: storage by day, push and pull counts, tag activity. */
  readonly report: ReportStore;
  /** Runs `fn` in one transaction: everything it wrote is kept, or nothing when it throws. */
  tx<T>(fn: (tx: MetadataQueries) => Promise<T>): Promise<T>;
  /** Applies pending migrations. */
  migrate(): Promise<void>;
  /** Whether this database was set up by Berth before (a migration has run), as opposed to new and empty. */
  initialized(): Promise<boolean>;
  /** Why the store cannot take writes now (its file was deleted, the server does not answer); undefined when it can. */
  readiness(): Promise<string | undefined>;
  close(): Promise<void>;
  /** Digests linked to at least one repository, in order, a page at a time (the blob check walks them). */
  linkedBlobDigests(page: Page): Promise<Digest[]>;
  /** Per repository, what bad bytes of this blob break: its link, the manifests that need it, their tags. */
  blobDependents(digest: Digest): Promise<BlobDependents[]>;
  /** Repositories that link the blob, by name, at most `limit` (where a mount without `from` may take it). */
  repositoriesLinking(digest: Digest, limit: number): Promise<RepoName[]>;
  /** Bytes per repository: the blobs it links and its manifests (the storage metric sums them per project). */
  storageByRepository(): Promise<Map<string, number>>;
}

/** What one repository loses when a blob's bytes are corrupt or missing. */
export interface BlobDependents {
  repository: RepoName;
  /** Whether the repository links the blob (a pull of the blob itself fails). */
  linked: boolean;
  /** Manifests that reference the blob, directly or through the manifests an index lists. */
  manifests: Digest[];
  /** Tags pointing at one of those manifests. */
  tags: string[];
}

import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';

/** A project's stored retention policy: its JSON as checked when it was set. */
export interface RetentionPolicyRecord {
  project: string;
  /** The policy object (the policy module checks it again when it is read). */
  policy: unknown;
  updatedAt: number;
  updatedBy: string;
}

/** A tag of the project with what retention decides over. */
export interface RetentionTagRow {
  repository: RepoName;
  tag: string;
  manifestId: number;
  digest: Digest;
  /** When the tag last moved (a push). */
  pushedAt: number;
  /** Last recorded pull of its manifest, or null. */
  pulledAt: number | null;
  manifestSize: number;
  blobs: { digest: Digest; size: number }[];
}

export interface UntaggedManifestRow {
  repository: RepoName;
  digest: Digest;
  createdAt: number;
  size: number;
  /** An index of the repository lists it, or its subject is a manifest of the repository. */
  needed: boolean;
}

export interface PullRecord {
  manifestId: number;
  at: number;
}

export interface RetentionRunRecord {
  id: number;
  project: string;
  startedAt: number;
  finishedAt: number;
  /** `manual` or `schedule`. */
  trigger: string;
  actor: string;
  dryRun: boolean;
  forced: boolean;
  /** `done` or `failed`. */
  status: string;
  deletedTags: number;
  deletedManifests: number;
  bytesFreed: number;
  /** The plan and what was applied, as the run stored it. */
  result: unknown;
}

export type NewRetentionRun = Omit<RetentionRunRecord, 'id'>;

/** Retention's rows: policies, runs, last pulls, and the reads and guarded deletes a run needs. */
export interface RetentionStore {
  getPolicy(project: string): Promise<RetentionPolicyRecord | undefined>;
  setPolicy(record: RetentionPolicyRecord): Promise<void>;
  deletePolicy(project: string): Promise<boolean>;
  listPolicies(): Promise<RetentionPolicyRecord[]>;

  /** Keeps the latest time per manifest (one entry per manifest, as the pull log batches them); entries of manifests deleted since are skipped. */
  recordPulls(pulls: PullRecord[]): Promise<void>;

  /** Every tag of the project's repositories (`project/...`). */
  projectTags(project: string): Promise<RetentionTagRow[]>;
  /** Manifests of the project's repositories that no tag points at. */
  untaggedManifests(project: string): Promise<UntaggedManifestRow[]>;
  /** Deletes the tag only while it still points at that manifest (a push may have moved it since the plan). */
  deleteTagIfAt(repository: RepoName, tag: string, manifestId: number): Promise<boolean>;
  /** Deletes the manifest only while it is still untagged and nothing in its repository needs it. */
  deleteUntaggedManifest(repository: RepoName, digest: Digest): Promise<boolean>;

  addRun(run: NewRetentionRun): Promise<number>;
  /** Newest first. */
  listRuns(project: string, limit: number, before?: number): Promise<RetentionRunRecord[]>;
}

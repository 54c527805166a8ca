import type { Digest } from '../oci/digest.js';

export type GcRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface GcProgress {
  blobsExamined: number;
  bytesExamined: number;
  blobsFreed: number;
  bytesFreed: number;
  manifestsFreed: number;
  uploadsPurged: number;
}

export interface GcRunRecord extends GcProgress {
  id: number;
  status: GcRunStatus;
  /** `manual` (the API) or `schedule` (the cron schedule in the configuration). */
  trigger: string;
  dryRun: boolean;
  untagged: boolean;
  graceMs: number;
  /** Blobs last referenced before this time (milliseconds since the epoch) are collectable. */
  cutoff: number;
  startedAt: number;
  finishedAt?: number | undefined;
  /** The last blob digest a finished batch examined: a resumed run starts after it. */
  checkpoint?: Digest | undefined;
  error?: string | undefined;
}

export interface NewGcRun {
  trigger: string;
  dryRun: boolean;
  untagged: boolean;
  graceMs: number;
  cutoff: number;
  startedAt: number;
}

/** One blob row as the collector sees it. */
export interface GcBlob {
  digest: Digest;
  size: number;
}

/**
 * The collector's queries. Deleting a blob is three steps: `markBlobs` (one statement: unreferenced, not
 * referenced since the cutoff, not already marked), then the bytes are deleted, then `dropMarkedBlobs`. A row in
 * state `deleting` is never revived: an upload of the same digest waits until the row is gone.
 */
export interface GcStore {
  /** Blob rows after `after` in digest order (examined and counted by the run), `limit` of them. */
  blobPage(after: Digest | undefined, limit: number): Promise<GcBlob[]>;
  /**
   * Marks, in one statement, those of the digests that no manifest references and nobody referenced since
   * `cutoff`, and returns them. The dry run asks the same question without marking (`mark: false`).
   */
  markBlobs(digests: Digest[], cutoff: number, mark: boolean): Promise<GcBlob[]>;
  /** Blobs left marked by a run that stopped between the mark and the delete (a restart finishes them). */
  markedBlobs(limit: number): Promise<GcBlob[]>;
  /** Removes the marked rows and every repository's link to them; their bytes are already gone. */
  dropMarkedBlobs(digests: Digest[]): Promise<void>;
  /**
   * Untagged manifests created before the cutoff that no manifest of their repository lists (as an index's
   * child) and that are not referrers of a manifest their repository still has.
   */
  untaggedManifests(cutoff: number, limit: number): Promise<number[]>;
  /** Deletes the manifest if it is still untagged and unlisted (re-checked under a row lock); true if deleted. */
  deleteUntaggedManifest(id: number): Promise<boolean>;

  createRun(run: NewGcRun): Promise<GcRunRecord>;
  /** Saves progress and the checkpoint after a batch. */
  saveProgress(id: number, progress: GcProgress, checkpoint: Digest | undefined): Promise<void>;
  finishRun(
    id: number,
    status: Exclude<GcRunStatus, 'running'>,
    finishedAt: number,
    error?: string,
  ): Promise<void>;
  /** Runs in status `running` (left so by a process that stopped) become `interrupted`; returns their ids. */
  interruptRunning(): Promise<number[]>;
  /** Reopens an interrupted run to resume it from its checkpoint. */
  resumeRun(id: number): Promise<GcRunRecord | undefined>;
  latestInterrupted(): Promise<GcRunRecord | undefined>;
  run(id: number): Promise<GcRunRecord | undefined>;
  /** Newest first, `limit` of them, older than run `before` when given. */
  history(limit: number, before?: number): Promise<GcRunRecord[]>;
}

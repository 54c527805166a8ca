/**
 * What `berth report` (the quarterly health check, issue 13) reads: rows only. The figures are computed from
 * them by a pure function (`events/health-report.ts`). Every query takes an optional project, which limits
 * it to that project's repositories (`project/...`).
 */

/** Bytes of blobs first stored on one day (UTC, days since the epoch) that are still stored. */
export interface StoredBytesRow {
  day: number;
  bytes: number;
  blobs: number;
}

/** A count per repository (pushes, pulls, refused pushes in a window). */
export interface RepositoryCountRow {
  repository: string;
  count: number;
}

/** A tag with its manifest's push and last recorded pull. */
export interface TagActivityRow {
  repository: string;
  tag: string;
  digest: string;
  /** When the tag last moved (a push). */
  pushedAt: number;
  /** Last recorded pull of its manifest (the retention pull log), or null when none was recorded. */
  pulledAt: number | null;
}

export interface ReportStore {
  /** Still-stored blob bytes by the day they were first stored (for a project: the day they were linked to it). */
  storedBytesByDay(project: string | undefined): Promise<StoredBytesRow[]>;
  /** Events of one type at or after `since`, counted per repository. */
  eventCounts(
    type: 'push' | 'pull',
    since: number,
    project: string | undefined,
  ): Promise<RepositoryCountRow[]>;
  /** Pushes refused by access control at or after `since` (audit log `access.denied`, action push), per repository. */
  refusedPushes(since: number, project: string | undefined): Promise<RepositoryCountRow[]>;
  /** Every tag with its push and last pull, at most `limit` (the oldest activity first). */
  tagActivity(project: string | undefined, limit: number): Promise<TagActivityRow[]>;
}

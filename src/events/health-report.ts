import type { RepositoryCountRow, StoredBytesRow, TagActivityRow } from '../metadata/report-store.js';

/**
 * `berth report`: the guide's quarterly health check computed from the server's own rows. Pure: the route
 * reads the rows, this decides every figure, and the same function is tested with tables.
 */

const DAY_MS = 86_400_000;

/** How many repositories the top lists show, and how many stale tags are listed by name. */
export const REPORT_TOP = 10;
export const REPORT_STALE_LISTED = 50;

export interface HealthReportInput {
  /** Milliseconds since the epoch, from the server's clock. */
  now: number;
  project?: string | undefined;
  /** Pushes and pulls are counted over this many days back from now. */
  windowDays: number;
  /** A tag not pushed or pulled for this many days is reported as stale. */
  staleDays: number;
  /** Calendar months (UTC) of storage growth shown, the current one included. */
  months: number;
  storedBytesByDay: StoredBytesRow[];
  repositoryBytes: { repository: string; bytes: number }[];
  /** Undefined when events are off (no pushes or pulls are recorded then). */
  pushes: RepositoryCountRow[] | undefined;
  pulls: RepositoryCountRow[] | undefined;
  refusedPushes: RepositoryCountRow[];
  /** Tags, oldest activity first, at most `tagLimit` of them. */
  tags: TagActivityRow[];
  tagLimit: number;
}

export interface StorageMonth {
  /** `YYYY-MM`. */
  month: string;
  addedBytes: number;
  /** Bytes stored at the end of the month (of blobs still stored today). */
  totalBytes: number;
}

export interface StaleTag {
  repository: string;
  tag: string;
  digest: string;
  pushedAt: string;
  lastPulledAt: string | null;
}

export interface HealthReport {
  generatedAt: string;
  project: string | null;
  windowDays: number;
  storage: {
    totalBytes: number;
    blobs: number;
    months: StorageMonth[];
    /** Bytes added in the last `windowDays` against the `windowDays` before them (null when nothing was stored before). */
    growthRatio: number | null;
    source: string;
  };
  topBySize: { repository: string; bytes: number }[];
  pulls: { available: true; total: number; top: { repository: string; pulls: number }[] } | Unavailable;
  stale: {
    days: number;
    count: number;
    /** More tags existed than were read: the count is a lower bound. */
    partial: boolean;
    tags: StaleTag[];
    source: string;
  };
  pushes: {
    succeeded: number | null;
    refused: number;
    byRepository: { repository: string; succeeded: number | null; refused: number }[];
    source: string;
  };
  vulnerabilities: Unavailable;
}

export interface Unavailable {
  available: false;
  reason: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const monthOf = (ms: number): string => iso(ms).slice(0, 7);

/** The `months` calendar months ending with the one `now` is in, oldest first, as `YYYY-MM`. */
export function lastMonths(now: number, months: number): string[] {
  const date = new Date(now);
  const out: string[] = [];
  for (let i = months - 1; i >= 0; i--) {
    out.push(monthOf(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - i, 1)));
  }
  return out;
}

/** Storage per month: what was added, and the running total (blobs stored before the first month included). */
export function storageGrowth(rows: StoredBytesRow[], now: number, months: number): StorageMonth[] {
  const shown = lastMonths(now, months);
  const first = shown[0] as string;
  const added = new Map<string, number>(shown.map((m) => [m, 0]));
  let total = 0;
  for (const row of rows) {
    const month = monthOf(row.day * DAY_MS);
    if (month < first) total += row.bytes;
    else if (added.has(month)) added.set(month, (added.get(month) ?? 0) + row.bytes);
  }
  return shown.map((month) => {
    const bytes = added.get(month) ?? 0;
    total += bytes;
    return { month, addedBytes: bytes, totalBytes: total };
  });
}

/** Bytes added in the last window against the window before it; null when the earlier window added nothing. */
export function growthRatio(rows: StoredBytesRow[], now: number, windowDays: number): number | null {
  const today = Math.floor(now / DAY_MS);
  let recent = 0;
  let before = 0;
  for (const row of rows) {
    const age = today - row.day;
    if (age < 0) continue;
    if (age < windowDays) recent += row.bytes;
    else if (age < 2 * windowDays) before += row.bytes;
  }
  return before === 0 ? null : recent / before;
}

/** Largest first; ties by name so the report is the same on every run. */
function top<T extends { repository: string }>(rows: T[], value: (row: T) => number, n: number): T[] {
  return [...rows]
    .filter((r) => value(r) > 0)
    .sort((a, b) => value(b) - value(a) || (a.repository < b.repository ? -1 : 1))
    .slice(0, n);
}

/** A tag is stale when neither a push nor a recorded pull touched it in the last `days` days. */
export function isStale(tag: TagActivityRow, now: number, days: number): boolean {
  const cutoff = now - days * DAY_MS;
  return tag.pushedAt < cutoff && (tag.pulledAt === null || tag.pulledAt < cutoff);
}

export function buildHealthReport(input: HealthReportInput): HealthReport {
  const { now } = input;
  const scoped = (repository: string): boolean =>
    input.project === undefined || repository.startsWith(`${input.project}/`);
  const sizes = input.repositoryBytes.filter((r) => scoped(r.repository));
  const stale = input.tags.filter((t) => isStale(t, now, input.staleDays));
  const sum = (rows: RepositoryCountRow[]): number => rows.reduce((n, r) => n + r.count, 0);

  const pushRepos = new Map<string, { succeeded: number | null; refused: number }>();
  for (const r of input.pushes ?? []) pushRepos.set(r.repository, { succeeded: r.count, refused: 0 });
  for (const r of input.refusedPushes) {
    const entry = pushRepos.get(r.repository) ?? { succeeded: input.pushes ? 0 : null, refused: 0 };
    entry.refused += r.count;
    pushRepos.set(r.repository, entry);
  }
  const byRepository = top(
    [...pushRepos].map(([repository, v]) => ({ repository, ...v })),
    (r) => r.refused,
    REPORT_TOP,
  );

  return {
    generatedAt: iso(now),
    project: input.project ?? null,
    windowDays: input.windowDays,
    storage: {
      totalBytes: input.storedBytesByDay.reduce((n, r) => n + r.bytes, 0),
      blobs: input.storedBytesByDay.reduce((n, r) => n + r.blobs, 0),
      months: storageGrowth(input.storedBytesByDay, now, input.months),
      growthRatio: growthRatio(input.storedBytesByDay, now, input.windowDays),
      source:
        input.project === undefined
          ? 'blobs stored now, by the day each was first stored; deleted blobs are not counted'
          : "blobs linked to the project's repositories now, by the day each was linked; a blob shared by two repositories counts in both",
    },
    topBySize: top(sizes, (r) => r.bytes, REPORT_TOP),
    pulls: input.pulls
      ? {
          available: true,
          total: sum(input.pulls),
          top: top(input.pulls, (r) => r.count, REPORT_TOP).map((r) => ({
            repository: r.repository,
            pulls: r.count,
          })),
        }
      : { available: false, reason: 'not available: events are off on this server (events.enabled: false)' },
    stale: {
      days: input.staleDays,
      count: stale.length,
      partial: input.tags.length >= input.tagLimit,
      tags: stale.slice(0, REPORT_STALE_LISTED).map((t) => ({
        repository: t.repository,
        tag: t.tag,
        digest: t.digest,
        pushedAt: iso(t.pushedAt),
        lastPulledAt: t.pulledAt === null ? null : iso(t.pulledAt),
      })),
      source:
        'tags not pushed and with no pull recorded in the period; pulls count from when the pull log started recording them',
    },
    pushes: {
      succeeded: input.pushes ? sum(input.pushes) : null,
      refused: sum(input.refusedPushes),
      byRepository,
      source:
        'succeeded: push events; refused: pushes denied by access control, from the audit log; pushes that failed for other reasons, such as a digest mismatch or a dropped connection, are not recorded',
    },
    vulnerabilities: {
      available: false,
      reason:
        'not available: Berth does not scan images on the server yet (berth scan checks an image on the client)',
    },
  };
}

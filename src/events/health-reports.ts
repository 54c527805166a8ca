import type { Clock } from '../clock/clock.js';
import type { ReportStore, TagActivityRow } from '../metadata/report-store.js';
import { buildHealthReport, type HealthReport } from './health-report.js';

/** Tags read per report: enough for a large registry's stale list, bounded so a report never reads everything. */
const TAG_LIMIT = 100_000;

export interface HealthReportOptions {
  project?: string | undefined;
  windowDays: number;
  staleDays: number;
  months: number;
}

/** Reads the rows a report needs and hands them to `buildHealthReport`. */
export class HealthReports {
  constructor(
    private readonly store: ReportStore,
    private readonly storageByRepository: () => Promise<Map<string, number>>,
    private readonly clock: Clock,
    /** Pushes and pulls are counted from events: without them those figures are "not available". */
    private readonly eventsOn: boolean,
  ) {}

  async report(options: HealthReportOptions): Promise<HealthReport> {
    const now = this.clock.now();
    const since = now - options.windowDays * 86_400_000;
    const { project } = options;
    const [storedBytesByDay, bytes, pushes, pulls, refusedPushes, tags] = await Promise.all([
      this.store.storedBytesByDay(project),
      this.storageByRepository(),
      this.eventsOn ? this.store.eventCounts('push', since, project) : undefined,
      this.eventsOn ? this.store.eventCounts('pull', since, project) : undefined,
      this.store.refusedPushes(since, project),
      this.store.tagActivity(project, TAG_LIMIT) as Promise<TagActivityRow[]>,
    ]);
    return buildHealthReport({
      now,
      project,
      windowDays: options.windowDays,
      staleDays: options.staleDays,
      months: options.months,
      storedBytesByDay,
      repositoryBytes: [...bytes].map(([repository, b]) => ({ repository, bytes: b })),
      pushes,
      pulls,
      refusedPushes,
      tags,
      tagLimit: TAG_LIMIT,
    });
  }
}

import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { RetentionStore } from '../metadata/retention-store.js';
import { BerthError } from '../oci/errors.js';
import type { JobLease } from './job-lease.js';

/** Throws `POLICY_INVALID` when croner cannot read the expression (the policy's schema only checks its shape). */
export function checkCronSchedule(schedule: string): void {
  try {
    new Cron(schedule, { paused: true, timezone: 'UTC' }).stop();
  } catch (error) {
    throw new BerthError('POLICY_INVALID', `retention policy schedule: ${(error as Error).message}`);
  }
}

/**
 * The cron of every project's retention policy (UTC). The schedule only calls `run`, the same function
 * `berth retention run` reaches; a run still going when the next one is due is not started twice.
 */
export class RetentionSchedule {
  private readonly jobs = new Map<string, Cron>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: RetentionStore,
    private readonly run: (project: string) => Promise<unknown>,
    private readonly log: Logger,
    /** With several nodes: scheduled runs happen only on the node that holds this lease. */
    private readonly lease?: JobLease,
  ) {}

  /** Schedules every stored policy that has a schedule. */
  async start(): Promise<void> {
    const records = await this.store.listPolicies();
    if (records.length === 0) return;
    const { checkRetentionPolicy } = await import('../policy/retention.js');
    for (const record of records) {
      try {
        this.update(record.project, checkRetentionPolicy(record.policy).schedule);
      } catch (error) {
        this.log.error({ err: error, project: record.project }, 'retention schedule not started');
      }
    }
  }

  /** Replaces the project's schedule (none: unscheduled). Called when a policy is set or removed. */
  update(project: string, schedule: string | undefined): void {
    this.jobs.get(project)?.stop();
    this.jobs.delete(project);
    if (schedule === undefined) return;
    const job = new Cron(schedule, { timezone: 'UTC', protect: true, unref: true }, async () => {
      if (this.lease && !(await this.lease.acquire())) return;
      const running = this.run(project).catch((error: unknown) =>
        this.log.error({ err: error, project }, 'scheduled retention run failed'),
      );
      this.running.add(running);
      await running;
      this.running.delete(running);
    });
    this.jobs.set(project, job);
  }

  /** Runs the project's scheduled job now, as its cron would (false when it has no schedule). */
  async trigger(project: string): Promise<boolean> {
    const job = this.jobs.get(project);
    if (!job) return false;
    await job.trigger();
    return true;
  }

  /** When the project's next run is due, if it has a schedule. */
  nextRun(project: string): Date | undefined {
    return this.jobs.get(project)?.nextRun() ?? undefined;
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
    await Promise.all(this.running);
  }
}

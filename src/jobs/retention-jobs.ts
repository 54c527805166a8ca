import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type {
  RetentionPolicyRecord,
  RetentionRunRecord,
  RetentionStore,
} from '../metadata/retention-store.js';
import { BerthError } from '../oci/errors.js';
import type { RetentionPolicy } from '../policy/retention.js';
import type { JobLease } from './job-lease.js';
import type { ImmutableCheck, RetentionRunRequest } from './retention-run.js';
import { checkCronSchedule, RetentionSchedule } from './retention-schedule.js';

// The policy module and the run load with the first use: a server whose projects have no policy loads neither.
const policyModule = () => import('../policy/retention.js');

/**
 * Retention on one server: policies (stored, and scheduled when they have a cron), runs (one at a time per
 * project), history. The admin routes and the schedule both go through here.
 */
export class RetentionJobs {
  private readonly schedule: RetentionSchedule;
  private readonly running = new Set<string>();

  constructor(
    readonly store: RetentionStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The project's tag immutability, read at the start of each run; absent, no tag is immutable. */
    private readonly immutabilityOf?: (project: string) => Promise<ImmutableCheck>,
    /** With several nodes: the lease that keeps scheduled runs on one of them. */
    lease?: JobLease,
  ) {
    this.schedule = new RetentionSchedule(
      store,
      (project) => this.run({ project, dryRun: false, force: false, trigger: 'schedule', actor: 'schedule' }),
      log,
      lease,
    );
  }

  start(): Promise<void> {
    return this.schedule.start();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  async policy(
    project: string,
  ): Promise<{ record: RetentionPolicyRecord; policy: RetentionPolicy; nextRun?: Date }> {
    const record = await this.store.getPolicy(project);
    if (!record) throw new BerthError('NOT_FOUND', `project "${project}" has no retention policy`);
    const nextRun = this.schedule.nextRun(project);
    const { checkRetentionPolicy } = await policyModule();
    return { record, policy: checkRetentionPolicy(record.policy), ...(nextRun ? { nextRun } : {}) };
  }

  /** Checks, stores and schedules a project's policy; `POLICY_INVALID` names what is wrong. */
  async setPolicy(project: string, raw: unknown, by: string): Promise<RetentionPolicy> {
    const { checkRetentionPolicy } = await policyModule();
    const policy = checkRetentionPolicy(raw);
    if (policy.schedule !== undefined) checkCronSchedule(policy.schedule);
    await this.store.setPolicy({ project, policy, updatedAt: this.clock.now(), updatedBy: by });
    this.schedule.update(project, policy.schedule);
    return policy;
  }

  async deletePolicy(project: string): Promise<boolean> {
    this.schedule.update(project, undefined);
    return this.store.deletePolicy(project);
  }

  /** Fires the project's cron job now, as if it were due (false without a schedule): for tests and operators. */
  triggerScheduled(project: string): Promise<boolean> {
    return this.schedule.trigger(project);
  }

  /** Runs retention now; `CONFLICT` while another run of the project is under way on this server. */
  async run(request: RetentionRunRequest): Promise<RetentionRunRecord> {
    if (this.running.has(request.project))
      throw new BerthError('CONFLICT', `a retention run of "${request.project}" is under way`);
    this.running.add(request.project);
    try {
      const { runRetention } = await import('./retention-run.js');
      const isImmutable = await this.immutabilityOf?.(request.project);
      return await runRetention(request, {
        store: this.store,
        clock: this.clock,
        log: this.log,
        ...(isImmutable ? { isImmutable } : {}),
      });
    } finally {
      this.running.delete(request.project);
    }
  }

  history(project: string, limit: number, before?: number): Promise<RetentionRunRecord[]> {
    return this.store.listRuns(project, limit, before);
  }
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type { LeaseStore } from '../metadata/lease-store.js';

/** This process, as lease rows name it: readable in `leases.holder`, unique even for two processes on one host. */
export function leaseHolderName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface JobLeaseOptions {
  store: LeaseStore;
  /** The job: `upload-purge`, `gc`, `retention`, `event-prune`. */
  name: string;
  holder: string;
  clock: Clock;
  /** How long a taken lease lasts without renewal: how long a job waits after its holder died. */
  ttlMs: number;
  log: Logger;
}

/**
 * Keeps a background job on one node at a time. The node that holds the lease renews it every third of its
 * time to live for as long as it runs, between runs too, so the job stays where it is instead of running once
 * per node; the others try as often and take it once the holder stopped renewing (it died or lost the
 * database). A job checks `acquire()` right before each run: one conditional statement, never a stale belief.
 */
export class JobLease {
  #held = false;
  #timer: NodeJS.Timeout | undefined;
  #beat: Promise<unknown> | undefined;

  constructor(private readonly options: JobLeaseOptions) {}

  get name(): string {
    return this.options.name;
  }

  get holder(): string {
    return this.options.holder;
  }

  /** Whether the last acquire or renewal succeeded. */
  get held(): boolean {
    return this.#held;
  }

  /** Takes or renews the lease now; true when this node holds it. A database error counts as not held. */
  async acquire(): Promise<boolean> {
    const { store, name, holder, clock, ttlMs, log } = this.options;
    const now = clock.now();
    let held: boolean;
    try {
      held = await store.acquireLease(name, holder, now, now + ttlMs);
    } catch (error) {
      log.error({ err: error, lease: name }, 'job lease not renewed');
      held = false;
    }
    // Taking a lease is routine (every start); losing one that was held means another node took the job.
    if (held && !this.#held) log.debug({ lease: name, holder }, 'job lease taken');
    if (!held && this.#held) log.warn({ lease: name, holder }, 'job lease lost: another node runs this job');
    this.#held = held;
    return held;
  }

  /** Runs `job` when this node holds the lease (true), else leaves it to the holder (false). */
  async run(job: () => Promise<unknown>): Promise<boolean> {
    if (!(await this.acquire())) return false;
    await job();
    return true;
  }

  /** Starts renewing (or trying to take) the lease every third of its time to live. */
  start(): void {
    if (this.#timer) return;
    const beat = (): void => {
      this.#beat ??= this.acquire().finally(() => {
        this.#beat = undefined;
      });
    };
    beat();
    this.#timer = setInterval(beat, Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.#timer.unref();
  }

  /** Stops renewing and gives the lease up, so another node takes the job at once instead of after its time. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beat;
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.options.store.releaseLease(this.options.name, this.options.holder);
    } catch (error) {
      this.options.log.warn({ err: error, lease: this.options.name }, 'job lease not released: it expires');
    }
  }
}

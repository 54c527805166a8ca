import type { Clock } from '../clock/clock.js';
import type { EventStore, NewEvent } from '../metadata/event-store.js';

// A flush writes at most this many rows in one insert; more wait for the next one.
const BATCH_ROWS = 500;
// Past this many pulls waiting (the database is down, say), new ones are counted and dropped: a pull is
// never refused or slowed for its event.
const MAX_PENDING = 50_000;

export interface PullNote {
  repository: string;
  project: string;
  digest: string;
  tag?: string | undefined;
  actor?: string | undefined;
}

/**
 * Pull events, written in batches: a pull writes nothing itself (it changes nothing to record in its own
 * transaction), it is noted here and a flush writes every noted pull in one insert. A crash loses at most
 * the pulls of the last interval; a failed flush keeps them for the next one.
 */
export class PullEventBatcher {
  private pending: NewEvent[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Pulls dropped because too many were waiting. */
  dropped = 0;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {}

  note(pull: PullNote): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push({ type: 'pull', at: this.clock.now(), ...pull });
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Writes what is waiting; one flush at a time. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const run = async (): Promise<void> => {
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, BATCH_ROWS);
        await this.store.record(batch);
        this.pending = this.pending.slice(batch.length);
      }
    };
    this.flushing = run().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Flushes every `intervalMs` (a timer: the batch is about load, not about time any decision reads). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.flush().catch(this.onError);
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(this.onError);
  }
}

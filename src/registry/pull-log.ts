import type { Logger } from 'pino';
import type { PullRecord } from '../metadata/retention-store.js';

/** Where the registry reports a manifest pull (a GET with the bytes). */
export interface PullRecorder {
  record(manifestId: number, at: number): void;
}

export interface PullLogOptions {
  /** Writes a batch (one transaction); the latest time per manifest is kept. */
  write: (pulls: PullRecord[]) => Promise<void>;
  /** A flush at least this often while pulls wait (milliseconds). */
  flushInterval: number;
  /** A flush as soon as this many manifests wait. */
  maxEntries: number;
  log: Logger;
}

/** Called with every batch written; events (issue 13) can hang on here instead of counting pulls again. */
export type FlushListener = (pulls: PullRecord[]) => void;

/**
 * Last pull times, batched: a pull only updates a map in memory, and the map is written every few seconds, when
 * it holds `maxEntries` manifests, and on close. A pull therefore costs no write of its own, and a busy manifest
 * costs one row update per flush however often it is pulled. A crash loses at most one interval of pull times,
 * which only makes retention keep less by "recently pulled" for that interval.
 */
export class PullLog implements PullRecorder {
  private pending = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly listeners: FlushListener[] = [];
  private closed = false;

  constructor(private readonly options: PullLogOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushInterval);
    this.timer.unref();
  }

  record(manifestId: number, at: number): void {
    if (this.closed) return;
    const before = this.pending.get(manifestId);
    if (before === undefined || at > before) this.pending.set(manifestId, at);
    if (this.pending.size >= this.options.maxEntries) void this.flush();
  }

  onFlush(listener: FlushListener): void {
    this.listeners.push(listener);
  }

  /** Writes what waits (taken now, so a batch never exceeds `maxEntries`); writes run one after another. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(() => this.writeBatch(batch));
    return this.flushing;
  }

  private async writeBatch(batch: Map<number, number>): Promise<void> {
    if (batch.size === 0) return;
    const pulls = [...batch].map(([manifestId, at]) => ({ manifestId, at }));
    try {
      await this.options.write(pulls);
    } catch (error) {
      // Kept for the next flush, unless that would grow the map past a bound while the database is away.
      if (this.pending.size + batch.size <= this.options.maxEntries * 10)
        for (const [id, at] of batch) if (!((this.pending.get(id) ?? -1) >= at)) this.pending.set(id, at);
      this.options.log.warn({ err: error, manifests: pulls.length }, 'pull times not written');
      return;
    }
    for (const listener of this.listeners) listener(pulls);
  }

  /** Stops the timer and writes what waits. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }
}

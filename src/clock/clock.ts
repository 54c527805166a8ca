/**
 * Where the time comes from. `main/` makes one `systemClock` and passes it to every part that reads the
 * time (tokens, limits, caches, uploads, jobs), so tests can set and advance it instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as `Date.now()`. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests, and for replaying a decision at a given time. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` milliseconds (never backward). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward (asked to move ${ms} ms)`);
    this.#now += ms;
  }

  set(epochMs: number): void {
    this.#now = epochMs;
  }
}

/**
 * A counting semaphore with a bounded queue: past its slots and queue places a caller is turned away at once
 * instead of waiting. Password checks go through one, since scrypt runs on libuv's small thread pool, which
 * file reads and writes need too.
 */
export class BoundedSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly slots: number,
    private readonly queue: number,
  ) {}

  get busy(): boolean {
    return this.active > 0 || this.waiting.length > 0;
  }

  /** Runs `work` in a slot; `undefined` without running it when every slot and queue place is taken. */
  async run<T>(work: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.slots) {
      if (this.waiting.length >= this.queue) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active++;
    try {
      return { value: await work() };
    } finally {
      // The slot passes straight to the next in line, so `active` only drops when nobody waits.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

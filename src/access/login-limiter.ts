/**
 * Counts failed logins per user and per source address in a sliding window; past the limit, further
 * attempts are refused without checking the password at all (so guessing costs the guesser, not us).
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Whether an attempt for this user from this source may be checked now. */
  allows(user: string, source: string, now = Date.now()): boolean {
    return (
      this.recent(`u:${user}`, now).length < this.max && this.recent(`s:${source}`, now).length < this.max * 5
    );
  }

  fail(user: string, source: string, now = Date.now()): void {
    for (const key of [`u:${user}`, `s:${source}`]) this.failures.set(key, [...this.recent(key, now), now]);
    // Keep memory bounded under a spray of made-up user names.
    if (this.failures.size > 50_000) this.failures.clear();
  }

  succeed(user: string): void {
    this.failures.delete(`u:${user}`);
  }
}

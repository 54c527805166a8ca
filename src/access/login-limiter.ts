import type { Clock } from '../clock/clock.js';

/** One login attempt counted before its password is checked; settled (or released) once the check is done. */
export interface LoginTicket {
  readonly pair: string;
  readonly source: string;
  readonly account: string;
  /** The source is past its own limit and the account is not known there: check it in the source's slow lane. */
  readonly slow: boolean;
}

// How long an account that logged in from an address stays known there (memory only; a restart forgets).
const KNOWN_GOOD_MS = 7 * 24 * 3600_000;
// Memory stays bounded under a spray of made-up names and addresses.
const MAX_KEYS = 50_000;

/**
 * Failed logins per (account, source address) and per source address, in a sliding window. An attempt is
 * reserved before its password is checked, so concurrent guesses cannot pass the limit, and the reservation
 * is settled when the check ends.
 *
 * No limit locks anyone out from elsewhere: guesses for an account from one address do not touch the same
 * account from another. Past the per-address limit, accounts that have logged in from that address before go
 * on as usual and others are checked one at a time (the slow lane), so a spray of made-up names behind a
 * NAT slows logins there but does not refuse them all.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly pending = new Map<string, number>();
  private readonly knownGood = new Map<string, number>();

  constructor(
    /** Failures allowed per (account, source) in the window; five times as many per source. */
    private readonly max: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  private used(key: string, now: number): number {
    return this.recent(key, now).length + (this.pending.get(key) ?? 0);
  }

  private adjust(key: string, by: number): void {
    const next = (this.pending.get(key) ?? 0) + by;
    if (next <= 0) this.pending.delete(key);
    else this.pending.set(key, next);
  }

  /** A ticket to check this account's password from this source now, or undefined when over the limit. */
  reserve(account: string, source: string): LoginTicket | undefined {
    const now = this.clock.now();
    const pair = `p:${account}\0${source}`;
    if (this.used(pair, now) >= this.max) return undefined;
    const lastGood = this.knownGood.get(`${account}\0${source}`);
    const known = lastGood !== undefined && now - lastGood < KNOWN_GOOD_MS;
    const slow = !known && this.used(`s:${source}`, now) >= this.max * 5;
    this.adjust(pair, 1);
    this.adjust(`s:${source}`, 1);
    return { pair, source, account, slow };
  }

  /** The check was not made (overload, an error): the attempt does not count. */
  release(ticket: LoginTicket): void {
    this.adjust(ticket.pair, -1);
    this.adjust(`s:${ticket.source}`, -1);
  }

  settle(ticket: LoginTicket, succeeded: boolean): void {
    const now = this.clock.now();
    this.release(ticket);
    if (succeeded) {
      this.failures.delete(ticket.pair);
      if (this.knownGood.size >= MAX_KEYS) this.knownGood.clear();
      this.knownGood.set(`${ticket.account}\0${ticket.source}`, now);
      return;
    }
    for (const key of [ticket.pair, `s:${ticket.source}`])
      this.failures.set(key, [...this.recent(key, now), now]);
    if (this.failures.size > MAX_KEYS) this.failures.clear();
  }
}

/**
 * The webhook decisions, as pure functions: when to retry, when to give up, when to turn an endpoint off,
 * how a body is signed, which addresses an endpoint may not reach.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export interface RetryPolicy {
  /** The first retry's delay (milliseconds); each later one doubles, up to `maxDelay`. */
  baseDelay: number;
  maxDelay: number;
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number;
}

/**
 * The delay before attempt `attempt + 1` after `attempt` failed: exponential, with "equal jitter" (half
 * fixed, half random) so that endpoints coming back are not hit by every queued retry at the same instant.
 * `random` is in [0, 1).
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const exp = Math.min(policy.maxDelay, policy.baseDelay * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

export type AttemptDecision =
  | { state: 'delivered' }
  | { state: 'pending'; nextAt: number }
  | { state: 'failed' };

/** What a delivery becomes after attempt number `attempt` (1-based) succeeded or not. */
export function afterAttempt(
  policy: RetryPolicy,
  attempt: number,
  ok: boolean,
  now: number,
  random: number,
): AttemptDecision {
  if (ok) return { state: 'delivered' };
  if (attempt >= policy.maxAttempts) return { state: 'failed' };
  return { state: 'pending', nextAt: now + retryDelay(policy, attempt, random) };
}

/** An endpoint is turned off once this many attempts in a row failed (0: never). */
export function shouldDisable(failuresInARow: number, disableAfter: number): boolean {
  return disableAfter > 0 && failuresInARow >= disableAfter;
}

export const SIGNATURE_HEADER = 'berth-signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the time is inside the MAC, so a receiver that
 * refuses old timestamps refuses replays, and a changed timestamp breaks the signature.
 */
export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** The receiver's check (documented in docs/webhooks.md; also used by the tests' receiver). */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds: number,
): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(t) || !given || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

// Addresses a webhook may not reach unless the config allows private targets: loopback, link-local,
// private and shared ranges, "this network", multicast and reserved, in IPv4 and IPv6.
const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  internal.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  internal.addSubnet(net, bits, 'ipv6');

/** Whether `address` (an IP literal) is loopback, link-local, private or otherwise not a public host. */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return internal.check(bare, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped?.[1]) return internal.check(mapped[1], 'ipv4');
    return internal.check(bare, 'ipv6');
  }
  // Not an address: treat as internal, so that nothing unparsed slips through.
  return true;
}

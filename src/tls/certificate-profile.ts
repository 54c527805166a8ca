// What every certificate Berth makes shares: the key type, the signature, serials, validity and renewal dates,
// and @peculiar/x509 (loaded on first use) to build them.
import { createPrivateKey, KeyObject, randomBytes, webcrypto, type X509Certificate } from 'node:crypto';

export const DAY_MS = 24 * 60 * 60 * 1000;
// Under the 398 days browsers and Apple accept for a server certificate.
export const SERVER_VALIDITY_DAYS = 365;
export const CA_VALIDITY_DAYS = 3650;
// A certificate with less time left than this is replaced at start, so a long-running server never serves an expired one.
const RENEW_BEFORE_DAYS = 30;
// Dating certificates an hour back keeps clients whose clocks run a little behind from refusing a fresh one.
export const BACKDATE_MS = 60 * 60 * 1000;

export const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGNATURE = { name: 'ECDSA', hash: 'SHA-256' } as const;

type X509Module = typeof import('@peculiar/x509');
let x509Module: Promise<X509Module> | undefined;

/**
 * @peculiar/x509 builds on tsyringe, which throws at import unless a Reflect metadata polyfill is loaded first;
 * loading both on first use also spares servers that never make a certificate.
 */
export function loadX509(): Promise<X509Module> {
  x509Module ??= import('reflect-metadata').then(async () => {
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  });
  return x509Module;
}

/** 16 random bytes with the top bit clear and a non-zero first byte: positive, and already minimal in DER. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

export function keyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

export async function signingKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

export function commonName(value: string): string {
  return value.length <= 64 ? value : value.slice(0, 64);
}

export function expiresSoon(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS;
}

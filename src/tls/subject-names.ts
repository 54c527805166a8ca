// The names a self-signed server certificate covers: the listen hosts, the machine's name when a host means
// every address, and the loopback names; spelled the way a client compares them.
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { BerthError } from '../oci/errors.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export interface SubjectName {
  type: 'dns' | 'ip';
  value: string;
}

const DNS_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * One spelling per name, the one a client compares: the WHATWG URL parser lowercases, turns IDNs into
 * punycode and IPv6 into its short form, which is also how it reaches `checkHost` and the certificate.
 * Returns 'any' for the unspecified addresses, undefined for what cannot be a certificate name.
 */
function canonicalName(raw: string): SubjectName | 'any' | undefined {
  let host = raw.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  // A zone (fe80::1%eth0) means something only on this machine; certificates have no place for it.
  if (host.includes(':')) host = host.replace(/%.*$/, '');
  if (host === '' || host === '*') return 'any';
  // The URL parser below would quietly drop a port, a path or user info (`host:5000` as `host`); a host has none.
  if (isIP(host) === 0 && /[\s/?#@:\\[\]%]/.test(host)) return undefined;
  let parsed: string;
  try {
    parsed = new URL(`https://${isIP(host) === 6 ? `[${host}]` : host}/`).hostname;
  } catch {
    return undefined;
  }
  if (parsed.startsWith('[')) parsed = parsed.slice(1, -1);
  if (parsed.endsWith('.')) parsed = parsed.slice(0, -1);
  if (isIP(parsed) !== 0) {
    if (parsed === '0.0.0.0' || parsed === '::') return 'any';
    return { type: 'ip', value: parsed };
  }
  if (parsed.length > 253 || !parsed.split('.').every((label) => DNS_LABEL.test(label))) return undefined;
  return { type: 'dns', value: parsed };
}

/** The listen hosts, the machine's name when one of them means every address, then the loopback names. */
export function subjectNames(hosts: string[]): SubjectName[] {
  const names: SubjectName[] = [];
  const add = (name: SubjectName) => {
    if (!names.some((n) => n.type === name.type && n.value === name.value)) names.push(name);
  };
  let any = false;
  for (const host of hosts) {
    const name = canonicalName(host);
    if (name === undefined) {
      throw new BerthError(
        'TLS_CONFIG_INVALID',
        `cannot make a TLS certificate for host "${host}": not a valid name or IP address`,
      );
    }
    if (name === 'any') any = true;
    else add(name);
  }
  if (any) {
    // A machine name that is no valid DNS name is left out rather than failing the start.
    const machine = canonicalName(hostname());
    if (machine !== undefined && machine !== 'any') add(machine);
  }
  for (const loopback of LOOPBACK_NAMES) {
    const name = canonicalName(loopback);
    if (name !== undefined && name !== 'any') add(name);
  }
  return names;
}

export function covers(cert: X509Certificate, names: SubjectName[]): boolean {
  // Node's own matching, the same rules a Node client applies; 'never' keeps the subject CN out of it.
  return names.every((name) =>
    name.type === 'ip'
      ? cert.checkIP(name.value) !== undefined
      : cert.checkHost(name.value, { subject: 'never' }) !== undefined,
  );
}

// HTTPS material for `berth serve`: certificate files the operator names, or (`--tls self-signed`) a local CA
// kept in the data folder and a server certificate it signs for the listen host and the loopback names.
import { createPrivateKey, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { writeAtomically } from '../files/atomic-write.js';
import { withFileLock } from '../files/file-lock.js';
import { BerthError } from '../oci/errors.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** PEM of the CA that signed cert, when Berth made it */
  ca?: string;
  certPath: string;
  keyPath: string;
  caPath?: string;
}

/** Knobs for tests only. */
export interface SelfSignedTlsOptions {
  /** The clock: certificates are dated from it and checked against it. */
  now?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Under the 398 days browsers and Apple accept for a server certificate.
const SERVER_VALIDITY_DAYS = 365;
const CA_VALIDITY_DAYS = 3650;
// A certificate with less time left than this is replaced at start, so a long-running server never serves an expired one.
const RENEW_BEFORE_DAYS = 30;
// Dating certificates an hour back keeps clients whose clocks run a little behind from refusing a fresh one.
const BACKDATE_MS = 60 * 60 * 1000;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGNATURE = { name: 'ECDSA', hash: 'SHA-256' } as const;

type X509Module = typeof import('@peculiar/x509');
let x509Module: Promise<X509Module> | undefined;

/**
 * @peculiar/x509 builds on tsyringe, which throws at import unless a Reflect metadata polyfill is loaded first;
 * loading both on first use also spares servers that never make a certificate.
 */
function loadX509(): Promise<X509Module> {
  x509Module ??= import('reflect-metadata').then(async () => {
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  });
  return x509Module;
}

// Operator-supplied files

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function readTlsFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user'
          : code === 'EISDIR'
            ? 'is a folder'
            : `cannot be read (${(error as Error).message})`;
    throw new BerthError('TLS_CONFIG_INVALID', `TLS ${what} ${path} ${why}`, { cause: error });
  }
}

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_PEM = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/;

function parseCertificateChain(pem: string, path: string): X509Certificate[] {
  const blocks = pem.match(CERTIFICATE_PEM) ?? [];
  if (blocks.length === 0) {
    const hint = PRIVATE_KEY_PEM.test(pem)
      ? ': it holds a private key (are the certificate and key files swapped?)'
      : pem.includes('-----BEGIN')
        ? ''
        : ' (a DER file can be converted with `openssl x509 -inform der -in FILE -out FILE.pem`)';
    throw new BerthError('TLS_CONFIG_INVALID', `TLS certificate ${path} holds no PEM certificate${hint}`);
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new BerthError(
        'TLS_CONFIG_INVALID',
        `TLS certificate ${path}: certificate ${index + 1} is not a valid X.509 certificate`,
        { cause: error },
      );
    }
  });
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  const header = PRIVATE_KEY_PEM.exec(pem)?.[1];
  if (!header) {
    const hint = pem.includes('-----BEGIN CERTIFICATE-----')
      ? ': it holds a certificate (are the certificate and key files swapped?)'
      : '';
    throw new BerthError('TLS_CONFIG_INVALID', `TLS key ${path} holds no PEM private key${hint}`);
  }
  // Berth starts unattended, so it has nobody to ask for a passphrase.
  if (header.startsWith('ENCRYPTED') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new BerthError(
      'TLS_CONFIG_INVALID',
      `TLS key ${path} is encrypted; Berth needs it without a passphrase (\`openssl pkey -in FILE -out FILE.plain\`)`,
    );
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new BerthError('TLS_CONFIG_INVALID', `TLS key ${path} is not a valid private key`, {
      cause: error,
    });
  }
}

/** Loads a certificate and key given by the operator; clear BerthError 'TLS_CONFIG_INVALID' naming the file when missing/unreadable/not PEM/key not matching the certificate. */
export async function loadTlsFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const absoluteCert = resolve(certPath);
  const absoluteKey = resolve(keyPath);
  const [cert, key] = await Promise.all([
    readTlsFile(absoluteCert, 'certificate'),
    readTlsFile(absoluteKey, 'key'),
  ]);
  // The first certificate is the server's own; any after it are intermediates sent along as the chain.
  const [leaf] = parseCertificateChain(cert, absoluteCert);
  const privateKey = parsePrivateKey(key, absoluteKey);
  let matches = false;
  try {
    matches = leaf?.checkPrivateKey(privateKey) ?? false;
  } catch {
    // A key of another type than the certificate's (RSA against EC) throws instead of returning false.
  }
  if (!matches) {
    throw new BerthError(
      'TLS_CONFIG_INVALID',
      `TLS key ${absoluteKey} does not belong to the certificate in ${absoluteCert}`,
    );
  }
  return { cert, key, certPath: absoluteCert, keyPath: absoluteKey };
}

// Names a self-signed server certificate covers

interface SubjectName {
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
function subjectNames(hosts: string[]): SubjectName[] {
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

function covers(cert: X509Certificate, names: SubjectName[]): boolean {
  // Node's own matching, the same rules a Node client applies; 'never' keeps the subject CN out of it.
  return names.every((name) =>
    name.type === 'ip'
      ? cert.checkIP(name.value) !== undefined
      : cert.checkHost(name.value, { subject: 'never' }) !== undefined,
  );
}

// Files in DATA/tls

interface TlsPaths {
  dir: string;
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  lock: string;
}

function tlsPaths(dataDir: string): TlsPaths {
  const dir = join(resolve(dataDir), 'tls');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    server: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    lock: join(dir, '.lock'),
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new BerthError('TLS_CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A reader sees the old file or the whole new one, never half of it. */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await writeAtomically(path, content, { mode });
}

const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

/** Two nodes starting at once on one data folder must not each make a CA and leave one's key beside the other's certificate. */
async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  // Making certificates takes milliseconds: a lock older than LOCK_STALE_MS was left by a process that died.
  return withFileLock(path, work, {
    staleMs: LOCK_STALE_MS,
    waitMs: LOCK_WAIT_MS,
    busy: () =>
      new BerthError(
        'TLS_CONFIG_INVALID',
        `another process holds ${path}; remove it if no Berth is starting on this data folder`,
      ),
  });
}

// Making certificates

/** 16 random bytes with the top bit clear and a non-zero first byte: positive, and already minimal in DER. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

function keyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function signingKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

function commonName(value: string): string {
  return value.length <= 64 ? value : value.slice(0, 64);
}

interface Ca {
  pem: string;
  cert: X509Certificate;
  keyPem: string;
}

function expiresSoon(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS;
}

/**
 * The CA clients were told to trust, or undefined when there is none yet or it is about to expire. A CA whose
 * key is gone or does not match is an error: making a new one silently would break every client that trusts it.
 */
async function loadCa(paths: TlsPaths, now: Date): Promise<Ca | undefined> {
  const pem = await readOptional(paths.ca);
  if (pem === undefined) return undefined;
  const broken = (why: string) =>
    new BerthError(
      'TLS_CONFIG_INVALID',
      `the local CA in ${paths.ca} ${why}; remove ${paths.ca} and ${paths.caKey} to make a new one (clients must then trust the new CA)`,
    );
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw broken('is not a valid certificate');
  }
  // An expiring CA is replaced before its key is even read: this also heals a crash in the middle of a renewal.
  if (expiresSoon(cert, now)) return undefined;
  if (!cert.ca) throw broken('is not a CA certificate');
  const keyText = await readOptional(paths.caKey);
  if (keyText === undefined) throw broken(`has lost its key ${paths.caKey}`);
  let matches = false;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyText));
  } catch {
    // unreadable key, or a key of another type: reported below
  }
  if (!matches) throw broken(`does not match its key ${paths.caKey}`);
  return { pem, cert, keyPem: keyText };
}

async function createCa(paths: TlsPaths, now: Date): Promise<Ca> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  // The machine and date in the name tell one Berth CA from another in a client's trust store.
  const label = `Berth local CA ${hostname()} ${now.toISOString().slice(0, 10)}`;
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ O: ['Berth'] }, { CN: [commonName(label)] }],
    notBefore,
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: EC_SIGNATURE,
    keys: keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  const pem = cert.toString('pem');
  const caKeyPem = keyPem(keys.privateKey);
  // Key first: a crash between the two writes leaves no ca.pem, and the next start simply makes a CA again.
  await writeAtomic(paths.caKey, caKeyPem, 0o600);
  await writeAtomic(paths.ca, `${pem}\n`, 0o644);
  return { pem: `${pem}\n`, cert: new X509Certificate(pem), keyPem: caKeyPem };
}

/** The server certificate on disk when it is signed by this CA, matches its key, covers the names and is not about to expire. */
async function loadServer(
  paths: TlsPaths,
  ca: Ca,
  names: SubjectName[],
  now: Date,
): Promise<{ cert: string; key: string } | undefined> {
  const [certPem, keyText] = await Promise.all([readOptional(paths.server), readOptional(paths.serverKey)]);
  if (certPem === undefined || keyText === undefined) return undefined;
  try {
    const cert = new X509Certificate(certPem);
    const usable =
      cert.checkIssued(ca.cert) &&
      cert.verify(ca.cert.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyText)) &&
      new Date(cert.validFrom).getTime() <= now.getTime() &&
      !expiresSoon(cert, now) &&
      covers(cert, names);
    return usable ? { cert: certPem, key: keyText } : undefined;
  } catch {
    // Anything unreadable is simply made again: nobody trusts the server certificate itself.
    return undefined;
  }
}

async function issueServer(
  paths: TlsPaths,
  ca: Ca,
  names: SubjectName[],
  now: Date,
): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const caCert = new x509.X509Certificate(ca.pem);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const aki = caKeyId
    ? new x509.AuthorityKeyIdentifierExtension(caKeyId)
    : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
  // A certificate must not outlive the CA that vouches for it.
  const notAfter = Math.min(
    now.getTime() + SERVER_VALIDITY_DAYS * DAY_MS,
    new Date(ca.cert.validTo).getTime(),
  );
  // The CN is only a label (clients match the SANs); a name reads better there than an address.
  const first = (names.find((name) => name.type === 'dns') ?? names[0])?.value ?? 'localhost';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ O: ['Berth'] }, { CN: [commonName(first)] }],
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: EC_SIGNATURE,
    publicKey: keys.publicKey,
    signingKey: await signingKey(ca.keyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // Only digitalSignature: keyEncipherment is for RSA key transport, and RFC 5480 rules it out for EC keys.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((name) => ({ type: name.type, value: name.value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      aki,
    ],
  });
  const pem = `${cert.toString('pem')}\n`;
  const key = keyPem(keys.privateKey);
  await writeAtomic(paths.serverKey, key, 0o600);
  await writeAtomic(paths.server, pem, 0o644);
  return { cert: pem, key };
}

/**
 * `--tls self-signed`: a local CA (kept in DATA/tls/ca.pem + ca-key.pem, created once, 0600 key, valid ~10 years)
 * and a server certificate signed by it for the listen host plus localhost, 127.0.0.1 and ::1 (SANs: DNS and IP
 * as appropriate; the listen host may be a name, an IPv4, an IPv6, or 0.0.0.0/:: meaning all — then include the machine's hostname from os.hostname() too).
 * The server certificate (DATA/tls/server.pem, server-key.pem) is reissued when its names do not cover the
 * requested hosts or it expires within 30 days; the CA is reused so clients that trust it keep working.
 */
export async function ensureSelfSignedTls(
  dataDir: string,
  hosts: string[],
  options: SelfSignedTlsOptions = {},
): Promise<TlsMaterial> {
  const names = subjectNames(hosts);
  const paths = tlsPaths(dataDir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a folder it creates; the CA key lives here, so tighten one that already existed.
  await chmod(paths.dir, 0o700);
  const now = options.now ?? new Date();
  return withLock(paths.lock, async () => {
    const ca = (await loadCa(paths, now)) ?? (await createCa(paths, now));
    const server = (await loadServer(paths, ca, names, now)) ?? (await issueServer(paths, ca, names, now));
    return {
      cert: server.cert,
      key: server.key,
      ca: ca.pem,
      certPath: paths.server,
      keyPath: paths.serverKey,
      caPath: paths.ca,
    };
  });
}

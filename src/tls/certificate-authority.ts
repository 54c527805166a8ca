// The local CA of `--tls self-signed`: made once, kept in DATA/tls, replaced only when about to expire, and never
// silently when broken (clients were told to trust it).
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { BerthError } from '../oci/errors.js';
import {
  BACKDATE_MS,
  CA_VALIDITY_DAYS,
  commonName,
  DAY_MS,
  EC_KEY,
  EC_SIGNATURE,
  expiresSoon,
  keyPem,
  loadX509,
  randomSerial,
} from './certificate-profile.js';
import { readOptional, type TlsPaths, writeAtomic } from './tls-folder.js';

export interface Ca {
  pem: string;
  cert: X509Certificate;
  keyPem: string;
}

/**
 * The CA clients were told to trust, or undefined when there is none yet or it is about to expire. A CA whose
 * key is gone or does not match is an error: making a new one silently would break every client that trusts it.
 */
export async function loadCa(paths: TlsPaths, now: Date): Promise<Ca | undefined> {
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

export async function createCa(paths: TlsPaths, now: Date): Promise<Ca> {
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

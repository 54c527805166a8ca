// Issuing the server certificate of `--tls self-signed`: signed by the local CA for the listen names, reissued
// when the names change or it nears expiry (nobody trusts it directly, so it is simply made again).
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import type { Ca } from './certificate-authority.js';
import {
  BACKDATE_MS,
  commonName,
  DAY_MS,
  EC_KEY,
  EC_SIGNATURE,
  expiresSoon,
  keyPem,
  loadX509,
  randomSerial,
  SERVER_VALIDITY_DAYS,
  signingKey,
} from './certificate-profile.js';
import { covers, type SubjectName } from './subject-names.js';
import { readOptional, type TlsPaths, writeAtomic } from './tls-folder.js';

/** The server certificate on disk when it is signed by this CA, matches its key, covers the names and is not about to expire. */
export async function loadServer(
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

export async function issueServer(
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

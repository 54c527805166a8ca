// HTTPS material for `berth serve`: the certificate and key an operator names (`--tls-cert`, `--tls-key`), or
// what `--tls self-signed` makes (self-signed.ts). Either way the server gets one TlsMaterial.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
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

async function readTlsFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
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

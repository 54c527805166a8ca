import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { z } from 'zod';
import { BerthError } from '../oci/errors.js';

/**
 * Cosign's key files: an ECDSA P-256 private key as PKCS #8 DER, encrypted the way sigstore's
 * go-securesystemslib `encrypted` package does (scrypt turns the passphrase into a key, NaCl secretbox
 * seals the DER), the JSON envelope of that as the body of a PEM block; the public key as a PKIX PEM.
 */
export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** The header cosign wrote before it moved to sigstore's name; still read. */
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';

/** The scrypt cost cosign writes keys with (go-securesystemslib's "legacy" parameters). */
const WRITE_PARAMS = { N: 32768, r: 8, p: 1 } as const;
/**
 * The cost parameters a key file may name: those go-securesystemslib knows. A file naming anything else is
 * refused, so a crafted key cannot make the reader spend unbounded memory or time.
 */
const ALLOWED_PARAMS = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
] as const;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
/** A PKCS #8 P-256 key is about 140 bytes; anything much larger is not a key of ours. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const base64 = z
  .string()
  .max(MAX_KEY_FILE_BYTES)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/);

const envelopeSchema = z.object({
  kdf: z.object({
    name: z.literal('scrypt'),
    params: z.object({ N: z.number().int(), r: z.number().int(), p: z.number().int() }),
    salt: base64,
  }),
  cipher: z.object({ name: z.literal('nacl/secretbox'), nonce: base64 }),
  ciphertext: base64,
});

export interface KeyPairFiles {
  /** The encrypted private key PEM (`ENCRYPTED SIGSTORE PRIVATE KEY`). */
  privatePem: string;
  /** The public key PEM (`PUBLIC KEY`, PKIX). */
  publicPem: string;
}

function scryptKey(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly that for N=32768, too tight.
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return scryptSync(Buffer.from(password, 'utf8'), salt, KEY_BYTES, { ...params, maxmem });
}

function pemEncode(type: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** The first PEM block of a text: its type and decoded body. */
export function pemDecode(text: string): { type: string; body: Buffer } {
  if (text.length > MAX_KEY_FILE_BYTES) throw new BerthError('KEY_INVALID', 'the key file is too large');
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new BerthError('KEY_INVALID', 'the key file holds no PEM block');
  const body = (match[2] ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body))
    throw new BerthError('KEY_INVALID', 'the PEM block is not base64');
  return { type: match[1] as string, body: Buffer.from(body, 'base64') };
}

/** Seals `plaintext` under `password` in go-securesystemslib's JSON envelope. */
export function encryptKeyEnvelope(plaintext: Buffer, password: string): Buffer {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = scryptKey(password, salt, WRITE_PARAMS);
  const sealed = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  const envelope = {
    kdf: { name: 'scrypt', params: WRITE_PARAMS, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** Opens the envelope; a wrong passphrase (or a changed byte) fails secretbox's authentication. */
export function decryptKeyEnvelope(envelopeBytes: Buffer, password: string): Buffer {
  let parsed: z.infer<typeof envelopeSchema>;
  try {
    parsed = envelopeSchema.parse(JSON.parse(envelopeBytes.toString('utf8')));
  } catch {
    throw new BerthError('KEY_INVALID', 'the private key is not an encrypted cosign key');
  }
  const { params } = parsed.kdf;
  if (!ALLOWED_PARAMS.some((known) => known.N === params.N && known.r === params.r && known.p === params.p)) {
    throw new BerthError('KEY_INVALID', `the private key names unsupported scrypt parameters`);
  }
  const salt = Buffer.from(parsed.kdf.salt, 'base64');
  const nonce = Buffer.from(parsed.cipher.nonce, 'base64');
  if (nonce.length !== NONCE_BYTES) throw new BerthError('KEY_INVALID', 'the private key has a bad nonce');
  const key = scryptKey(password, salt, params);
  try {
    return Buffer.from(xsalsa20poly1305(key, nonce).decrypt(Buffer.from(parsed.ciphertext, 'base64')));
  } catch {
    throw new BerthError('KEY_PASSWORD_WRONG', 'the private key cannot be decrypted: wrong passphrase?');
  }
}

/** A new ECDSA P-256 key pair in cosign's file formats. */
export function generateCosignKeyPair(password: string): KeyPairFiles {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    privatePem: pemEncode(SIGSTORE_PRIVATE_KEY_PEM, encryptKeyEnvelope(der, password)),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The signing key of an encrypted cosign or sigstore private key PEM. */
export function readCosignPrivateKey(pem: string, password: string): KeyObject {
  const block = pemDecode(pem);
  if (block.type !== SIGSTORE_PRIVATE_KEY_PEM && block.type !== COSIGN_PRIVATE_KEY_PEM) {
    throw new BerthError(
      'KEY_INVALID',
      `unsupported PEM type "${block.type}": expected ${SIGSTORE_PRIVATE_KEY_PEM} or ${COSIGN_PRIVATE_KEY_PEM}`,
    );
  }
  const der = decryptKeyEnvelope(block.body, password);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new BerthError('KEY_INVALID', 'the decrypted private key is not PKCS #8');
  }
  assertP256(key);
  return key;
}

/** The verification key of a PKIX public key PEM. */
export function readPublicKey(pem: string): KeyObject {
  const block = pemDecode(pem);
  if (block.type !== 'PUBLIC KEY') {
    throw new BerthError('KEY_INVALID', `unsupported PEM type "${block.type}": expected PUBLIC KEY`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.body, format: 'der', type: 'spki' });
  } catch {
    throw new BerthError('KEY_INVALID', 'the public key cannot be parsed');
  }
  assertP256(key);
  return key;
}

/** Cosign's signature scheme for keys it generates; other curves and RSA are not read (yet). */
function assertP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BerthError('KEY_INVALID', 'only ECDSA P-256 keys are supported');
  }
}

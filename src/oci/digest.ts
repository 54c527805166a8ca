import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

declare const digestBrand: unique symbol;
/** A content digest `algorithm:hex` that passed `parseDigest`. */
export type Digest = string & { readonly [digestBrand]: true };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The image-spec grammar: algorithm-component(separator algorithm-component)* ":" encoded
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/** Parses a digest; anything that is not a well-formed sha256 or sha512 digest is `DIGEST_INVALID`. */
export function parseDigest(raw: string): Digest {
  if (!DIGEST_GRAMMAR.test(raw))
    throw new RegistryError('DIGEST_INVALID', { digest: raw, reason: 'malformed' });
  const [algorithm, hex] = raw.split(':') as [string, string];
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', { digest: raw, reason: 'unsupported algorithm' });
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', { digest: raw, reason: `malformed ${algorithm} hex` });
  }
  return raw as Digest;
}

export function isDigest(raw: string): boolean {
  try {
    parseDigest(raw);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

export function digestFromHash(hash: Hash, algorithm: DigestAlgorithm): Digest {
  return `${algorithm}:${hash.digest('hex')}` as Digest;
}

/** The digest of `{}`, the OCI empty descriptor's content. */
export const EMPTY_JSON_DIGEST = digestOf(Buffer.from('{}'));
export const EMPTY_JSON_BYTES = Buffer.from('{}');

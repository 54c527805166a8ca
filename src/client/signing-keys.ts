import type { KeyObject } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { writeAtomically } from '../files/atomic-write.js';
import { BerthError } from '../oci/errors.js';
import { generateCosignKeyPair, readCosignPrivateKey, readPublicKey } from '../trust/cosign-key.js';

/** Key files of `berth key generate`, `sign` and `verify`: where cosign users keep them, in its formats. */

/** A key file is a few hundred bytes; reading stops well past that. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

async function readKeyFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new BerthError(
      'KEY_INVALID',
      `${path}: cannot read the key file (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (bytes.length > MAX_KEY_FILE_BYTES)
    throw new BerthError('KEY_INVALID', `${path}: not a key file (too large)`);
  return bytes.toString('utf8');
}

function naming(path: string, error: unknown): never {
  if (error instanceof BerthError) throw new BerthError(error.code, `${path}: ${error.message}`);
  throw error;
}

export async function loadPrivateKey(path: string, password: string): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  try {
    return readCosignPrivateKey(pem, password);
  } catch (error) {
    return naming(path, error);
  }
}

export async function loadPublicKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  try {
    return readPublicKey(pem);
  } catch (error) {
    return naming(path, error);
  }
}

/**
 * Writes `PREFIX.key` (encrypted, mode 0600) and `PREFIX.pub`. An existing file is never overwritten
 * unless `force`: a lost private key cannot sign again what its public key is trusted for.
 */
export async function generateKeyFiles(
  prefix: string,
  password: string,
  force = false,
): Promise<{ privatePath: string; publicPath: string }> {
  const privatePath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  if (!force) {
    for (const path of [privatePath, publicPath]) {
      const exists = await access(path).then(
        () => true,
        () => false,
      );
      if (exists) throw new BerthError('KEY_EXISTS', `${path} already exists (use --force to replace it)`);
    }
  }
  const pair = generateCosignKeyPair(password);
  await writeAtomically(privatePath, pair.privatePem, { mode: 0o600, folderMode: 0o755 });
  await writeAtomically(publicPath, pair.publicPem, { mode: 0o644, folderMode: 0o755 });
  return { privatePath, publicPath };
}

// The files of a self-signed setup, in DATA/tls: the CA and its key, the server certificate and its key, the lock.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeAtomically } from '../files/atomic-write.js';
import { BerthError } from '../oci/errors.js';

export interface TlsPaths {
  dir: string;
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  lock: string;
}

export function tlsPaths(dataDir: string): TlsPaths {
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

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BerthError('TLS_CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Temporary name, then rename (files/): a reader sees the old file or the whole new one, never half of it. */
export async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await writeAtomically(path, content, { mode });
}

import { existsSync } from 'node:fs';
import { resetPassword } from '../access/admin-account.js';
import { generateSecret } from '../access/password-hash.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { type Config, resolvePaths } from '../config/config.js';
import { BerthError } from '../oci/errors.js';
import { openMetadata } from './server.js';

/**
 * `berth admin reset-password`: sets a user's password straight in the server's database (its SQLite file or
 * its PostgreSQL), on the server's machine and without a login. Safe while the server runs: SQLite in WAL
 * mode takes a second writer, and the server reads the new hash at the next login that is not cached.
 * Returns the password set: the one given, or a generated one to print once.
 */
export async function resetUserPassword(
  config: Config,
  user: string,
  password: string | undefined,
  cwd = process.cwd(),
  clock: Clock = systemClock,
): Promise<string> {
  const pg = config.metadata.postgres;
  const where = pg ? 'the PostgreSQL database of the config' : resolvePaths(config, cwd).sqlite;
  const missing = (): BerthError =>
    new BerthError(
      'METADATA_MISSING',
      `no Berth database at ${where}: give the server's data folder (--data) or its config (--config)`,
    );
  // Opening a SQLite path creates the file: a wrong --data must not leave an empty database behind.
  if (!pg && !existsSync(where)) throw missing();
  const metadata = await openMetadata(config, cwd);
  try {
    if (!(await metadata.initialized())) throw missing();
    const secret = password ?? generateSecret();
    await resetPassword(metadata.access, user, secret, clock.now());
    return secret;
  } finally {
    await metadata.close();
  }
}

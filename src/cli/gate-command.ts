import { CommanderError } from 'commander';
import { loadConfig, resolvePaths } from '../config/config.js';
import { ADVISORY_DB_ENV, resolveAdvisoryDbPath } from '../scan/osv/advisory-db.js';

/**
 * Exit statuses of the quality-gate commands (scan, sbom, lint), as CI pipelines read them:
 * 0 the image passed, 1 the gate refused it, 2 it could not be checked (bad input, bad policy, no database).
 */
export const GATE_REFUSED = 1;
export const GATE_ERROR = 2;

/**
 * Runs a gate command so that an error ends it with exit status 2 ("could not check"); `main()` prints the
 * error's one line as for any command.
 */
export async function runGateCommand(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof CommanderError)) process.exitCode = GATE_ERROR;
    throw error;
  }
}

/**
 * The advisory database: `--db`, else BERTH_ADVISORY_DB, else `advisories/osv.sqlite` in the data folder as
 * `berth serve` resolves it (`--data`, the config file's `data`, BERTH_DATA, `./berth-data`).
 */
export function advisoryDbPath(flags: { db?: string; data?: string; config?: string }): string {
  if (flags.db || process.env[ADVISORY_DB_ENV]) return resolveAdvisoryDbPath({ db: flags.db, dataDir: '.' });
  const config = loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    ...(flags.data ? { overrides: { data: flags.data } } : {}),
  });
  return resolveAdvisoryDbPath({ dataDir: resolvePaths(config).data });
}

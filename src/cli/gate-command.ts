import { CommanderError } from 'commander';
import { advisoryDbLocation } from '../client/advisory-db-location.js';
import { loadConfig, resolvePaths } from '../config/config.js';

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
 * The advisory database: `--db`, else BERTH_ADVISORY_DB, else a named server data folder's, else the user's
 * data folder's (`$XDG_DATA_HOME/berth`, `~/.local/share/berth`); see `advisoryDbLocation`.
 */
export function advisoryDbPath(flags: { db?: string; data?: string; config?: string }): string {
  const named = flags.data || flags.config || process.env.BERTH_DATA;
  const serverData = (): string =>
    resolvePaths(
      loadConfig({
        ...(flags.config ? { file: flags.config } : {}),
        ...(flags.data ? { overrides: { data: flags.data } } : {}),
      }),
    ).data;
  return advisoryDbLocation({ db: flags.db, ...(named ? { serverData } : {}) });
}

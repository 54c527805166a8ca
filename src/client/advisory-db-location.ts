import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ADVISORY_DB_ENV, resolveAdvisoryDbPath } from '../scan/osv/advisory-db.js';

/**
 * The user's Berth data folder: `$XDG_DATA_HOME/berth`, else `~/.local/share/berth`. A relative
 * XDG_DATA_HOME is ignored, as the XDG base directory specification asks.
 */
export function berthDataHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'berth');
}

export interface AdvisoryDbChoice {
  /** `--db`. */
  db?: string | undefined;
  /** A server's data folder when one was named (`--data`, `--config`, BERTH_DATA); read only when needed. */
  serverData?: (() => string) | undefined;
}

/**
 * Where the CLI's advisory database is: `--db`, else BERTH_ADVISORY_DB; else, when a server's data folder is
 * named, the server's `<data>/advisories/osv.sqlite`; else the user's `<data home>/advisories/osv.sqlite`,
 * the same wherever the command runs.
 */
export function advisoryDbLocation(
  choice: AdvisoryDbChoice,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  if (choice.db || env[ADVISORY_DB_ENV])
    return resolveAdvisoryDbPath({ db: choice.db, dataDir: '.', env, cwd });
  const dataDir = choice.serverData ? choice.serverData() : berthDataHome(env);
  return resolveAdvisoryDbPath({ dataDir, env, cwd });
}

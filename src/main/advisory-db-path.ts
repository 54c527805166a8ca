import { advisoryDbLocation } from '../client/advisory-db-location.js';
import { loadConfig, resolvePaths } from '../config/config.js';

/**
 * The advisory database: `--db`, else BERTH_ADVISORY_DB, else a named server data folder's, else the user's
 * data folder's (`$XDG_DATA_HOME/berth`, `~/.local/share/berth`); see `advisoryDbLocation`. Here because a
 * server's data folder comes from its configuration.
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

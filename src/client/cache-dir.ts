import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/berth`, else `~/.cache/berth`: blob-info cache, upload state, compressed spool. */
export function berthCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_CACHE_DIR) return env.BERTH_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'berth');
}

import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuthConfigFile } from './docker-config.js';

export interface ContainersAuthLocation {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** For `/run/containers/<uid>/auth.json` when XDG_RUNTIME_DIR is unset. Default: this process's uid. */
  uid?: number;
  platform?: NodeJS.Platform;
}

/**
 * The auth.json files podman and skopeo read, first match wins, as containers-auth.json(5) lists them:
 * `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/<uid>/auth.json`
 * without XDG_RUNTIME_DIR; Linux only), then `$XDG_CONFIG_HOME/containers/auth.json`
 * (`~/.config/containers/auth.json`). Docker's config.json, which those tools read last, is not listed.
 */
export function containersAuthPaths(options: ContainersAuthLocation = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const platform = options.platform ?? process.platform;
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) {
    paths.push(env.REGISTRY_AUTH_FILE);
  } else if (platform === 'linux') {
    paths.push(
      env.XDG_RUNTIME_DIR
        ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
        : join('/run/containers', String(options.uid ?? process.getuid?.() ?? 0), 'auth.json'),
    );
  }
  paths.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'));
  return [...new Set(paths)];
}

/** Reads an auth.json: Docker's format, with namespaced `host/namespace/repo` keys (`CREDENTIALS_*` errors). */
export function readContainersAuth(path: string): Promise<AuthConfigFile> {
  return AuthConfigFile.read(path, 'containers');
}

import { type Config, loadConfig } from '../config/config.js';

// The commands that show the configuration (`berth config`) print these as they are.
export { configKeys, defaultConfigText, envName } from '../config/config.js';

/** Where a server-side command (fsck, admin reset-password) finds the server: its config file, its data folder. */
export interface ServerLocation {
  /** `--config`: the YAML file `berth serve` uses. */
  configFile?: string | undefined;
  /** `--data`: the data folder, over the file's. */
  data?: string | undefined;
}

/** The server's configuration: the file, BERTH_* variables, then `--data`. */
export function loadServerConfig(location: ServerLocation): Config {
  return loadConfig({
    ...(location.configFile ? { file: location.configFile } : {}),
    overrides: { data: location.data },
  });
}

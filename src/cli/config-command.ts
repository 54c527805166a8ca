import type { Command } from 'commander';
import { onAction } from './exit-status.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('show and check the configuration');
  const configDefault = config
    .command('default')
    .description('print the commented default configuration file')
    .addHelpText('after', '\nExample:\n  $ berth config default > berth.yaml');
  onAction(configDefault, async () => {
    // The configuration's schema and YAML load when a config command runs, not on every start.
    const { defaultConfigText } = await import('../main/server-config.js');
    process.stdout.write(defaultConfigText());
    return 0;
  });
  const check = config
    .command('check')
    .description('validate a configuration (file, BERTH_* variables) and print the result')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print the effective configuration as JSON')
    .addHelpText('after', '\nExample:\n  $ berth config check --config /etc/berth/berth.yaml');
  onAction(check, async (opts: { config?: string; json?: boolean }) => {
    const [{ loadServerConfig }, { default: YAML }] = await Promise.all([
      import('../main/server-config.js'),
      import('yaml'),
    ]);
    const effective = loadServerConfig({ configFile: opts.config });
    process.stdout.write(opts.json ? `${JSON.stringify(effective, null, 2)}\n` : YAML.stringify(effective));
    return 0;
  });
  const env = config.command('env').description('list the environment variable of every configuration key');
  onAction(env, async () => {
    const { configKeys, envName } = await import('../main/server-config.js');
    for (const key of configKeys()) process.stdout.write(`${envName(key)}\t${key}\n`);
    return 0;
  });
}

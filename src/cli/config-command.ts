import type { Command } from 'commander';
import YAML from 'yaml';
import { configKeys, defaultConfigText, envName, loadConfig } from '../config/config.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('show and check the configuration');
  config
    .command('default')
    .description('print the commented default configuration file')
    .addHelpText('after', '\nExample:\n  $ berth config default > berth.yaml')
    .action(() => {
      process.stdout.write(defaultConfigText());
    });
  config
    .command('check')
    .description('validate a configuration (file, BERTH_* variables) and print the result')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print the effective configuration as JSON')
    .addHelpText('after', '\nExample:\n  $ berth config check --config /etc/berth/berth.yaml')
    .action((opts: { config?: string; json?: boolean }) => {
      const effective = loadConfig({ file: opts.config });
      process.stdout.write(opts.json ? `${JSON.stringify(effective, null, 2)}\n` : YAML.stringify(effective));
    });
  config
    .command('env')
    .description('list the environment variable of every configuration key')
    .action(() => {
      for (const key of configKeys()) process.stdout.write(`${envName(key)}\t${key}\n`);
    });
}

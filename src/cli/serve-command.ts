import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the registry (embedded default: blobs on the filesystem, metadata in SQLite)')
    .option('-c, --config <file>', 'YAML configuration file (see `berth config default`)')
    .option('-l, --listen <host:port>', 'address to listen on (default 127.0.0.1:5000)')
    .option('-d, --data <dir>', 'data folder for blobs, uploads and metadata (default ./berth-data)')
    .addHelpText(
      'after',
      `
Every config key can also be set by an environment variable: BERTH_LISTEN, BERTH_DATA,
BERTH_METADATA_POSTGRES_URL, BERTH_REGISTRY_DELETES, ... Flags win over variables, variables over the file.

Examples:
  $ berth serve
  $ berth serve --listen 0.0.0.0:5000 --data /var/lib/berth
  $ BERTH_METADATA_POSTGRES_URL=postgres://berth@db/berth berth serve --config /etc/berth/berth.yaml`,
    )
    .action(async (opts: { config?: string; listen?: string; data?: string }) => {
      const config = loadConfig({ file: opts.config, overrides: { listen: opts.listen, data: opts.data } });
      // Loaded here, not at the top: the server stack (Fastify, Kysely, drivers) would slow every other command.
      const [{ createLogger }, { startServer }] = await Promise.all([
        import('../main/logger.js'),
        import('../main/server.js'),
      ]);
      const log = createLogger(config.log.level);
      const server = await startServer(config, { log });
      process.stdout.write(`berth registry ready at ${server.url}\n`);
      let signals = 0;
      const stop = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          log.warn({ signal }, 'second signal, exiting now');
          process.exit(1);
        }
        log.info({ signal }, 'shutting down');
        server.close().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

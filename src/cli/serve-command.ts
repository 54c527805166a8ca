import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { BerthError } from '../oci/errors.js';

interface ServeFlags {
  config?: string;
  listen?: string;
  data?: string;
  auth?: string;
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  logFormat?: string;
  init?: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the registry (embedded default: blobs on the filesystem, metadata in SQLite)')
    .option('-c, --config <file>', 'YAML configuration file (see `berth config default`)')
    .option('-l, --listen <host:port>', 'address to listen on (default 127.0.0.1:5000)')
    .option('-d, --data <dir>', 'data folder for blobs, uploads and metadata (default ./berth-data)')
    .option(
      '--auth <mode>',
      'token (default: users, robots, Docker token auth) or none (no checks; loopback only)',
    )
    .option(
      '--tls <mode>',
      'self-signed: make a local CA and a certificate for the listen host (kept in <data>/tls)',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the key of --tls-cert (PEM)')
    .option(
      '--insecure-http',
      'allow plain HTTP on an address other than loopback (credentials in clear text)',
    )
    .option(
      '--log-format <format>',
      'auto (readable on a terminal, JSON otherwise), text or json; with json, stdout carries only log lines',
    )
    .option(
      '--init',
      'start an empty metadata database even though the blob store already holds blobs (after a lost database)',
    )
    .addHelpText(
      'after',
      `
Every config key can also be set by an environment variable: BERTH_LISTEN, BERTH_DATA,
BERTH_METADATA_POSTGRES_URL, BERTH_REGISTRY_DELETES, ... Flags win over variables, variables over the file.

Examples:
  $ berth serve
  $ berth serve --listen 0.0.0.0:5000 --tls self-signed --data /var/lib/berth
  $ BERTH_ADMIN_PASSWORD=… berth serve --tls-cert /etc/berth/tls.crt --tls-key /etc/berth/tls.key
  $ berth serve --log-format json > berth.log

While no usable admin exists (first start, or a generated password that was never shown), the user
"admin" gets BERTH_ADMIN_PASSWORD, or a generated password printed once the server is up. A lost
password: berth admin reset-password (on this machine, against the same data folder or config).
  $ berth serve --auth none          # local experiments: no users, no checks
  $ BERTH_METADATA_POSTGRES_URL=postgres://berth@db/berth berth serve --config /etc/berth/berth.yaml`,
    )
    .action(async (opts: ServeFlags) => {
      if (opts.tls !== undefined && opts.tls !== 'self-signed') {
        throw new BerthError(
          'USAGE',
          `--tls: the only mode is self-signed (certificates of your own: --tls-cert and --tls-key)`,
        );
      }
      const config = loadConfig({
        file: opts.config,
        overrides: {
          listen: opts.listen,
          data: opts.data,
          'auth.mode': opts.auth,
          'tls.selfSigned': opts.tls === 'self-signed' ? true : undefined,
          'tls.cert': opts.tlsCert,
          'tls.key': opts.tlsKey,
          'http.insecureHttp': opts.insecureHttp ? true : undefined,
          'log.format': opts.logFormat,
        },
      });
      // Loaded here, not at the top: the server stack (Fastify, Kysely, drivers) would slow every other command.
      const [{ createLogger, resolveLogFormat }, { startServer }] = await Promise.all([
        import('../main/logger.js'),
        import('../main/server.js'),
      ]);
      const format = resolveLogFormat(config.log.format, process.stdout.isTTY === true);
      const log = createLogger(config.log.level, {
        format,
        color: format === 'text' && process.stdout.isTTY === true && !process.env.NO_COLOR,
      });
      // Readable logs share stdout with these lines; JSON logs keep stdout to themselves.
      const human = format === 'text' ? process.stdout : process.stderr;
      const server = await startServer(config, {
        log,
        adminPassword: process.env.BERTH_ADMIN_PASSWORD || undefined,
        init: opts.init === true,
        announce: (ready) => {
          // One synchronous write (terminal, file or pipe): the password counts only once this returns.
          let text = `berth registry ready at ${ready.url}\ndata in ${ready.data}\n`;
          if (ready.adminPassword)
            text += `created user "admin" with password ${ready.adminPassword}\n(shown once; to choose it, set BERTH_ADMIN_PASSWORD while no admin exists; lost: berth admin reset-password)\n`;
          if (ready.caPath) text += `clients trust this CA to reach it: ${ready.caPath}\n`;
          if (config.auth.mode === 'none')
            text += 'auth is off (--auth none): anyone on this machine may push and delete\n';
          human.write(text);
        },
      });
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

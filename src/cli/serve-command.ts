import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { onAction } from './exit-status.js';

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
  const command = program
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
    );
  onAction(command, async (opts: ServeFlags) => {
    if (opts.tls !== undefined && opts.tls !== 'self-signed') {
      throw new BerthError(
        'USAGE',
        `--tls: the only mode is self-signed (certificates of your own: --tls-cert and --tls-key)`,
      );
    }
    // Loaded here, not at the top: the server stack would slow every other command.
    const { serve } = await import('../main/serve.js');
    await serve({
      configFile: opts.config,
      listen: opts.listen,
      data: opts.data,
      auth: opts.auth,
      selfSignedTls: opts.tls === 'self-signed',
      tlsCert: opts.tlsCert,
      tlsKey: opts.tlsKey,
      insecureHttp: opts.insecureHttp,
      logFormat: opts.logFormat,
      init: opts.init,
    });
    // The server keeps the process running; main() returns this and sets no code.
    return 0;
  });
}

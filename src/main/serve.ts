import { type Config, loadConfig } from '../config/config.js';

/** What `berth serve` was asked for: its flags, each over the config file and BERTH_* variables. */
export interface ServeOptions {
  configFile?: string | undefined;
  listen?: string | undefined;
  data?: string | undefined;
  auth?: string | undefined;
  /** `--tls self-signed`: a local CA and a certificate for the listen host. */
  selfSignedTls?: boolean | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  insecureHttp?: boolean | undefined;
  logFormat?: string | undefined;
  /** Start an empty metadata database even though the blob store holds blobs. */
  init?: boolean | undefined;
}

function serveConfig(options: ServeOptions): Config {
  return loadConfig({
    file: options.configFile,
    overrides: {
      listen: options.listen,
      data: options.data,
      'auth.mode': options.auth,
      'tls.selfSigned': options.selfSignedTls ? true : undefined,
      'tls.cert': options.tlsCert,
      'tls.key': options.tlsKey,
      'http.insecureHttp': options.insecureHttp ? true : undefined,
      'log.format': options.logFormat,
    },
  });
}

/**
 * Runs the registry until SIGINT or SIGTERM: reads the configuration, starts the server, says where it
 * listens (and a generated admin password, once), and on a signal shuts down and exits the process. A
 * second signal exits at once.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const config = serveConfig(options);
  // Loaded here, not at the top: the server stack (Fastify, Kysely, drivers) would slow every other command.
  const [{ createLogger, resolveLogFormat }, { startServer }] = await Promise.all([
    import('./logger.js'),
    import('./server.js'),
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
    init: options.init === true,
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
}

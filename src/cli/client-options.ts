import type { Command } from 'commander';
import type { Credentials } from '../client/credentials/credentials.js';
import type { SessionSettings } from '../client/session-settings.js';
import { BerthError } from '../oci/errors.js';

export interface ClientFlags {
  tlsVerify?: string;
  caFile?: string;
  certDir?: string;
  authfile?: string;
  creds?: string;
  debug?: boolean;
  timeout?: string;
}

/** The options every command that talks to registries has. */
export function addClientOptions(command: Command): Command {
  return command
    .option(
      '--tls-verify <bool>',
      'verify TLS certificates and require HTTPS (default true; plain HTTP is allowed for loopback hosts)',
    )
    .option('--ca-file <file>', 'an extra CA bundle to trust')
    .option(
      '--cert-dir <dir>',
      'a certs.d folder: DIR/HOST[:PORT]/ca.crt, client.cert, client.key (default /etc/docker/certs.d)',
    )
    .option(
      '--authfile <file>',
      'read and write credentials in this auth.json only (as podman and skopeo do)',
    )
    .option('--creds <user:password>', 'credentials for the registry, instead of stored ones')
    .option('--timeout <seconds>', 'fail a request after this many seconds without a byte', '120')
    .option('--debug', 'log every HTTP request and response (secrets redacted) to stderr');
}

export function parseBool(raw: string | undefined, option: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new BerthError('USAGE', `${option}: expected true or false, got "${raw}"`);
}

export function parseCreds(raw: string, option: string): Credentials {
  const colon = raw.indexOf(':');
  if (colon <= 0) throw new BerthError('USAGE', `${option}: expected USER:PASSWORD`);
  return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
}

/** The client session the common flags ask for; `--creds` apply to the registry the command names. */
export function sessionSettings(flags: ClientFlags): SessionSettings {
  const credentials = flags.creds ? parseCreds(flags.creds, '--creds') : undefined;
  const timeout = Number(flags.timeout ?? 120);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new BerthError('USAGE', '--timeout: expected a number of seconds');
  return {
    tlsVerify: parseBool(flags.tlsVerify, '--tls-verify'),
    caFile: flags.caFile,
    certDir: flags.certDir,
    authFile: flags.authfile,
    ...(credentials ? { credentials } : {}),
    timeout,
    debug: flags.debug ? (line) => process.stderr.write(`${line}\n`) : undefined,
  };
}

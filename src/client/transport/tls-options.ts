import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { BerthError } from '../../oci/errors.js';

export interface TlsPolicy {
  /** Verify the server's certificate (default). `false` is `--tls-verify=false`. */
  verify: boolean;
  /** An extra CA bundle (`--ca-file`). */
  caFile?: string | undefined;
  /** A folder in Docker's `certs.d` layout: `DIR/HOST[:PORT]/ca.crt`, `client.cert`, `client.key`. */
  certDir?: string | undefined;
}

export interface TlsConnectOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new BerthError('TLS_CONFIG_INVALID', `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/**
 * The TLS settings for one registry host, as Docker builds them: the system's CAs plus any given, and the
 * per-host files of `certs.d` (`*.crt` are CAs, `*.cert` + `*.key` a client certificate).
 */
export function tlsConnectOptions(host: string, policy: TlsPolicy): TlsConnectOptions {
  if (!policy.verify) return { rejectUnauthorized: false };
  const extra: string[] = [];
  if (policy.caFile) extra.push(read(policy.caFile, 'CA file'));
  const options: TlsConnectOptions = { rejectUnauthorized: true };
  const hostDir = policy.certDir ? join(policy.certDir, host) : undefined;
  if (hostDir && existsSync(hostDir)) {
    for (const file of readdirSync(hostDir).sort()) {
      if (file.endsWith('.crt')) extra.push(read(join(hostDir, file), 'CA file'));
      if (file.endsWith('.cert')) {
        options.cert = read(join(hostDir, file), 'client certificate');
        options.key = read(join(hostDir, file.replace(/\.cert$/, '.key')), 'client key');
      }
    }
  }
  if (extra.length > 0) {
    const system = SYSTEM_BUNDLES.filter((path) => existsSync(path)).map((path) =>
      readFileSync(path, 'utf8'),
    );
    options.ca = [...rootCertificates, ...system, ...extra];
  }
  return options;
}

// `--tls self-signed`: a local CA and a server certificate it signs, kept in DATA/tls and reused across starts.
import { chmod, mkdir } from 'node:fs/promises';
import { createCa, loadCa } from './certificate-authority.js';
import { withLock } from './folder-lock.js';
import { issueServer, loadServer } from './server-certificate.js';
import { subjectNames } from './subject-names.js';
import { tlsPaths } from './tls-folder.js';
import type { TlsMaterial } from './tls-material.js';

/** Knobs for tests only. */
export interface SelfSignedTlsOptions {
  /** The clock: certificates are dated from it and checked against it. */
  now?: Date;
}

/**
 * `--tls self-signed`: a local CA (kept in DATA/tls/ca.pem + ca-key.pem, created once, 0600 key, valid ~10 years)
 * and a server certificate signed by it for the listen host plus localhost, 127.0.0.1 and ::1 (SANs: DNS and IP
 * as appropriate; the listen host may be a name, an IPv4, an IPv6, or 0.0.0.0/:: meaning all — then include the machine's hostname from os.hostname() too).
 * The server certificate (DATA/tls/server.pem, server-key.pem) is reissued when its names do not cover the
 * requested hosts or it expires within 30 days; the CA is reused so clients that trust it keep working.
 */
export async function ensureSelfSignedTls(
  dataDir: string,
  hosts: string[],
  options: SelfSignedTlsOptions = {},
): Promise<TlsMaterial> {
  const names = subjectNames(hosts);
  const paths = tlsPaths(dataDir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a folder it creates; the CA key lives here, so tighten one that already existed.
  await chmod(paths.dir, 0o700);
  const now = options.now ?? new Date();
  return withLock(paths.lock, async () => {
    const ca = (await loadCa(paths, now)) ?? (await createCa(paths, now));
    const server = (await loadServer(paths, ca, names, now)) ?? (await issueServer(paths, ca, names, now));
    return {
      cert: server.cert,
      key: server.key,
      ca: ca.pem,
      certPath: paths.server,
      keyPath: paths.serverKey,
      caPath: paths.ca,
    };
  });
}

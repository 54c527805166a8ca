import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AccessService } from '../access/access-service.js';
import { loadRolesFile } from '../access/roles-file.js';
import { type Config, resolvePaths, splitListen } from '../config/config.js';
import { buildHttpServer } from '../http/server.js';
import { purgeStaleUploads, schedulePurge } from '../jobs/upload-purge.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { openPostgresMetadata } from '../metadata/postgres.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import { BerthError } from '../oci/errors.js';
import { Registry } from '../registry/registry.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { createLogger } from './logger.js';
import { ensureSelfSignedTls, loadTlsFiles, type TlsMaterial } from './tls-certificates.js';

export interface RunningServer {
  /** Base URL, such as `https://127.0.0.1:5000`. */
  url: string;
  /** `HOST:PORT` clients use (the real port when 0 was asked). */
  hostPort: string;
  app: FastifyInstance;
  registry: Registry;
  metadata: MetadataStore;
  /** Absent with `auth: none`. */
  access?: AccessService | undefined;
  /** The generated password of the `admin` user, on the first start only (print it once). */
  adminPassword?: string | undefined;
  /** The CA clients should trust, when Berth made its own (`--tls self-signed`). */
  caPath?: string | undefined;
  /** Stops accepting, lets requests in flight finish (up to the grace period), closes the stores. */
  close(): Promise<void>;
}

/** Builds the metadata store the config names. The only place that picks a dialect. */
export function openMetadata(config: Config, cwd = process.cwd()): MetadataStore {
  const pg = config.metadata.postgres;
  if (pg) return openPostgresMetadata(pg.url, pg.poolSize);
  return openSqliteMetadata(resolvePaths(config, cwd).sqlite);
}

/** The composition root: config in, a listening registry out. */
/** Whether a listen host only takes connections from this machine. */
function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface StartOptions {
  log?: Logger;
  cwd?: string;
  /** The first `admin` password (BERTH_ADMIN_PASSWORD); generated when absent. */
  adminPassword?: string | undefined;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log.level);
  const paths = resolvePaths(config, options.cwd);
  const { host, port } = splitListen(config.listen);
  const loopback = isLoopbackAddress(host);
  if (config.auth.mode === 'none' && !loopback) {
    throw new BerthError(
      'CONFIG_INVALID',
      `config key auth: "none" is refused on ${config.listen}: without access checks Berth listens on loopback only`,
    );
  }
  let tls: TlsMaterial | undefined;
  if (config.tls.cert || config.tls.key) {
    if (!config.tls.cert || !config.tls.key) {
      throw new BerthError('CONFIG_INVALID', 'config key tls: cert and key go together');
    }
    tls = await loadTlsFiles(config.tls.cert, config.tls.key);
  } else if (config.tls.selfSigned) {
    tls = await ensureSelfSignedTls(paths.data, [host]);
  }
  if (!tls && !loopback) {
    if (!config.http.insecureHttp) {
      throw new BerthError(
        'CONFIG_INVALID',
        `config key http.insecureHttp: plain HTTP on ${config.listen} would send passwords and tokens in clear text; give a certificate (--tls-cert/--tls-key, --tls self-signed) or accept it with --insecure-http`,
      );
    }
    log.warn(
      { listen: config.listen },
      'serving plain http on a network address: credentials travel in clear text',
    );
  }
  const blobs = new DriverBlobStore(new FsDriver(paths.storageRoot));
  const metadata = openMetadata(config, options.cwd);
  await metadata.migrate();
  const registry = new Registry(
    blobs,
    metadata,
    { deletes: config.registry.deletes, maxManifestSize: config.registry.maxManifestSize },
    log,
  );
  let access: AccessService | undefined;
  let adminPassword: string | undefined;
  if (config.auth.mode === 'token') {
    access = await AccessService.open(
      metadata.access,
      {
        token: config.auth.token,
        loginAttempts: config.auth.loginAttempts,
        loginWindow: config.auth.loginWindow,
        loginChecks: config.auth.loginChecks,
      },
      log,
    );
    const admin = await access.bootstrapAdmin(options.adminPassword);
    adminPassword = admin.password;
    if (admin.created) log.info({ user: 'admin' }, 'first start: admin user created');
    if (config.auth.rolesFile) {
      const count = await loadRolesFile(
        resolve(options.cwd ?? process.cwd(), config.auth.rolesFile),
        metadata.access,
      );
      log.info({ roles: count, file: config.auth.rolesFile }, 'policy roles loaded');
    }
  }
  const app = buildHttpServer(registry, log, {
    idleTimeout: config.http.idleTimeout,
    chunkMinLength: config.registry.chunkMinLength,
    access,
    realm: config.auth.token.realm,
    trustedProxies: config.http.trustedProxies,
    https: tls ? { cert: tls.cert, key: tls.key } : undefined,
  });
  const purge = config.registry.uploadPurge;
  const purgeJob = schedulePurge(
    () => purgeStaleUploads(blobs, metadata, purge.maxAge * 1000, Date.now(), log),
    purge.interval * 1000,
    log,
  );
  try {
    await app.listen({ host, port });
  } catch (error) {
    await purgeJob.stop();
    await metadata.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const hostPort = `${hostPart}:${address.port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const grace = setTimeout(() => {
        log.warn({ seconds: config.http.shutdownGrace }, 'shutdown grace period over, closing connections');
        app.server.closeAllConnections();
      }, config.http.shutdownGrace * 1000);
      grace.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(grace);
        await purgeJob.stop();
        await metadata.close();
      }
    })();
    return closing;
  };
  const url = `${tls ? 'https' : 'http'}://${hostPort}`;
  log.info(
    { url, storage: paths.storageRoot, metadata: metadata.dialect, auth: config.auth.mode, ca: tls?.caPath },
    'registry listening',
  );
  return { url, hostPort, app, registry, metadata, access, adminPassword, caPath: tls?.caPath, close };
}

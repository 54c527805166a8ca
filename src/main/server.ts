import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type Config, resolvePaths, splitListen } from '../config/config.js';
import { buildHttpServer } from '../http/server.js';
import { purgeStaleUploads, schedulePurge } from '../jobs/upload-purge.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { openPostgresMetadata } from '../metadata/postgres.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import { Registry } from '../registry/registry.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { createLogger } from './logger.js';

export interface RunningServer {
  /** Base URL, such as `http://127.0.0.1:5000`. */
  url: string;
  /** `HOST:PORT` clients use (the real port when 0 was asked). */
  hostPort: string;
  app: FastifyInstance;
  registry: Registry;
  metadata: MetadataStore;
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
export async function startServer(
  config: Config,
  options: { log?: Logger; cwd?: string } = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log.level);
  const paths = resolvePaths(config, options.cwd);
  const blobs = new DriverBlobStore(new FsDriver(paths.storageRoot));
  const metadata = openMetadata(config, options.cwd);
  await metadata.migrate();
  const registry = new Registry(
    blobs,
    metadata,
    { deletes: config.registry.deletes, maxManifestSize: config.registry.maxManifestSize },
    log,
  );
  const app = buildHttpServer(registry, log, {
    idleTimeout: config.http.idleTimeout,
    chunkMinLength: config.registry.chunkMinLength,
  });
  const purge = config.registry.uploadPurge;
  const purgeJob = schedulePurge(
    () => purgeStaleUploads(blobs, metadata, purge.maxAge * 1000, Date.now(), log),
    purge.interval * 1000,
    log,
  );
  const { host, port } = splitListen(config.listen);
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
  log.info(
    { url: `http://${hostPort}`, storage: paths.storageRoot, metadata: metadata.dialect },
    'registry listening',
  );
  return { url: `http://${hostPort}`, hostPort, app, registry, metadata, close };
}

import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { systemClock } from '../clock/clock.js';
import { type Config, resolvePaths } from '../config/config.js';
import { type BlobCheckReport, checkBlobs, paceClockOn } from '../jobs/blob-check.js';
import { BerthError } from '../oci/errors.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { openMetadata } from './server.js';
import { loadServerConfig, type ServerLocation } from './server-config.js';

export interface BlobCheckRunOptions {
  repair: boolean;
  log: Logger;
  cwd?: string | undefined;
}

/**
 * `berth fsck`: the blob check once, on the stores the config names. It may run beside a serving Berth
 * (SQLite in WAL mode takes a second reader). It never creates a database or a storage folder: a wrong
 * `--data` is an error, not an empty report.
 */
export async function runBlobCheck(config: Config, options: BlobCheckRunOptions): Promise<BlobCheckReport> {
  const paths = resolvePaths(config, options.cwd);
  if (!(await isDirectory(paths.storageRoot)))
    throw new BerthError(
      'DATA_MISSING',
      `no blob storage at ${paths.storageRoot} (check --data or --config)`,
    );
  if (!config.metadata.postgres && !(await isFile(paths.sqlite)))
    throw new BerthError(
      'DATA_MISSING',
      `no metadata database at ${paths.sqlite} (check --data or --config)`,
    );
  const blobs = new DriverBlobStore(new FsDriver(paths.storageRoot));
  const metadata = await openMetadata(config, options.cwd);
  try {
    return await checkBlobs(blobs, metadata, {
      repair: options.repair,
      bytesPerSecond: 0,
      clock: paceClockOn(systemClock),
      log: options.log,
    });
  } finally {
    await metadata.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/**
 * `berth fsck`: the check on the server that `--config` and `--data` name; the report is the command's
 * output, so the log says only what went wrong, on stderr.
 */
export async function checkServerBlobs(location: ServerLocation, repair: boolean): Promise<BlobCheckReport> {
  const { default: pino } = await import('pino');
  return runBlobCheck(loadServerConfig(location), {
    repair,
    log: pino({ level: 'error' }, pino.destination(2)),
  });
}

import { existsSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AccessService } from '../access/access-service.js';
import { ensureFirstAdmin, FIRST_ADMIN } from '../access/admin-account.js';
import { AdminService } from '../access/admin-service.js';
import { projectOf } from '../access/principal.js';
import { loadRolesFile } from '../access/roles-file.js';
import { type Clock, systemClock } from '../clock/clock.js';
import { type Config, resolvePaths, splitListen } from '../config/config.js';
import { pruneEvents } from '../events/event-retention.js';
import { HealthReports } from '../events/health-reports.js';
import { RegistryMetrics } from '../events/metrics.js';
import { PullEventBatcher } from '../events/pull-events.js';
import { buildHttpServer } from '../http/server.js';
import { checkBlobs, paceClockOn, scheduleBlobCheck } from '../jobs/blob-check.js';
import { GcService } from '../jobs/gc.js';
import { JobLease, leaseHolderName } from '../jobs/job-lease.js';
import { RetentionJobs } from '../jobs/retention-jobs.js';
import { purgeStaleUploads, schedulePurge } from '../jobs/upload-purge.js';
import { WebhookDispatcher } from '../jobs/webhook-delivery.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { BerthError } from '../oci/errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { parseAdmissionPolicy } from '../policy/admission-policy.js';
import { PullLog } from '../registry/pull-log.js';
import { PullTrust } from '../registry/pull-trust.js';
import { type AdmissionAudit, PushAdmission } from '../registry/push-admission.js';
import { Registry } from '../registry/registry.js';
import { RepositoryLifecycle } from '../registry/repository-lifecycle.js';
import { TagImmutabilityGuard } from '../registry/tag-immutability-guard.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { StorageReserve } from '../storage/storage-reserve.js';
import type { TlsMaterial } from '../tls/tls-material.js';
import { readPublicKey } from '../trust/cosign-key.js';
import { checkSignatureLayer } from '../trust/simple-signing.js';
import { createLogger } from './logger.js';

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
  /** Garbage collection runs (the API's `/api/v1/gc` drives the same service). */
  gc: GcService;
  /** The generated password of the `admin` user, when this start made one (print it once). */
  adminPassword?: string | undefined;
  /** The CA clients should trust, when Berth made its own (`--tls self-signed`). */
  caPath?: string | undefined;
  /** Pull events wait here until a flush writes them (tests flush to see them at once). */
  pullEvents?: PullEventBatcher | undefined;
  /** Last pull times, batched (tests flush it instead of waiting for the interval). */
  pullLog: PullLog;
  /** Retention policies, runs and their schedule. */
  retention: RetentionJobs;
  /** The webhook sender: tests run a pass (`tick`) and wait for its deliveries (`settle`). */
  webhooks?: WebhookDispatcher | undefined;
  /** Stops accepting, lets requests in flight finish (up to the grace period), closes the stores. */
  close(): Promise<void>;
}

/**
 * Builds the metadata store the config names. The only place that picks a dialect; only the chosen one is
 * loaded (the PostgreSQL driver would add to every SQLite server's memory, and the reverse).
 */
export async function openMetadata(
  config: Config,
  cwd = process.cwd(),
  onLost?: (reason: string) => void,
): Promise<MetadataStore> {
  const pg = config.metadata.postgres;
  if (pg) {
    const { openPostgresMetadata } = await import('../metadata/postgres.js');
    return openPostgresMetadata(pg.url, pg.poolSize);
  }
  const { openSqliteMetadata } = await import('../metadata/sqlite.js');
  return openSqliteMetadata(resolvePaths(config, cwd).sqlite, onLost ? { onLost } : {});
}

/** Where the server keeps its data, in words for the start-up line: `/srv/berth-data (blobs, metadata.sqlite)`. */
export function describeDataLocation(config: Config, cwd = process.cwd()): string {
  const paths = resolvePaths(config, cwd);
  const inData = (path: string): string | undefined =>
    dirname(path) === paths.data ? basename(path) : undefined;
  const s3 = config.storage.s3;
  const blobs = s3.bucket
    ? `blobs in S3 bucket ${s3.bucket}${s3.endpoint ? ` at ${new URL(s3.endpoint).host}` : ''}`
    : paths.storageRoot === resolve(paths.data, 'storage')
      ? 'blobs'
      : `blobs in ${paths.storageRoot}`;
  const pg = config.metadata.postgres;
  if (pg) {
    // Host, port and database only: the URL may carry a password.
    const url = new URL(pg.url);
    return `${paths.data} (${blobs}); metadata in PostgreSQL at ${url.host}${url.pathname}`;
  }
  const sqlite = inData(paths.sqlite) ?? `metadata in ${paths.sqlite}`;
  return `${paths.data} (${blobs}, ${sqlite})`;
}

// Pull events are written this often (one insert for all pulls since the last flush).
const PULL_EVENT_FLUSH_MS = 2000;
// Projects reported in the storage metric, largest first; the rest are summed as `other`.
const STORAGE_PROJECTS = 1000;

/** Bytes per project for the storage metric. */
async function storageByProject(metadata: MetadataStore): Promise<Map<string, number>> {
  const perProject = new Map<string, number>();
  for (const [repository, bytes] of await metadata.storageByRepository()) {
    const project = projectOf(repository);
    perProject.set(project, (perProject.get(project) ?? 0) + bytes);
  }
  const ordered = [...perProject].sort((a, b) => b[1] - a[1]);
  const kept = new Map(ordered.slice(0, STORAGE_PROJECTS));
  const rest = ordered.slice(STORAGE_PROJECTS).reduce((sum, [, bytes]) => sum + bytes, 0);
  if (rest > 0) kept.set('other', (kept.get('other') ?? 0) + rest);
  return kept;
}

/** Whether the blob store holds at least one blob. */
async function holdsBlobs(blobs: DriverBlobStore): Promise<boolean> {
  for await (const _blob of blobs.list()) return true;
  return false;
}

/** What the server tells its operator once it is up (`berth serve` prints it; logs are not the place). */
export interface Announcement {
  url: string;
  /** Where the data lives, in words. */
  data: string;
  /** A generated password for the `admin` user: valid only once `announce` has returned. */
  adminPassword?: string | undefined;
  caPath?: string | undefined;
}

export interface StartOptions {
  log?: Logger;
  cwd?: string;
  /** The `admin` password (BERTH_ADMIN_PASSWORD) while no usable admin exists; generated when absent. */
  adminPassword?: string | undefined;
  /**
   * Called once the server listens, before a generated admin password becomes valid: it must have shown the
   * password when it returns. Without it, the password is valid at once and returned in `adminPassword`.
   */
  announce?: (announcement: Announcement) => void | Promise<void>;
  /** Start an empty database even though the blob store already holds blobs (`berth serve --init`). */
  init?: boolean;
  /** The time every part of the server reads (tokens, logins, caches, uploads, jobs); tests pass a `ManualClock`. */
  clock?: Clock;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log.level);
  // The one clock of this server: everything below that reads the time gets it from here.
  const clock = options.clock ?? systemClock;
  const paths = resolvePaths(config, options.cwd);
  const { host, port } = splitListen(config.listen);
  const loopback = isLoopbackHost(host);
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
    // The TLS modules load only when the server serves HTTPS.
    const { loadTlsFiles } = await import('../tls/tls-material.js');
    tls = await loadTlsFiles(config.tls.cert, config.tls.key);
  } else if (config.tls.selfSigned) {
    const { ensureSelfSignedTls } = await import('../tls/self-signed.js');
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
  // Room for deletes once the disk fills up (see StorageReserve): the metadata database may share that disk.
  const reserve = new StorageReserve(join(paths.data, 'storage-reserve'), config.storage.reserve, log);
  await reserve.ensure();
  let blobs: DriverBlobStore;
  const s3 = config.storage.s3;
  if (s3.bucket) {
    // Loaded only here: the AWS SDK costs start-up time a filesystem registry does not pay.
    const { S3Driver } = await import('../storage/s3-driver.js');
    const driver = new S3Driver({
      endpoint: s3.endpoint || undefined,
      bucket: s3.bucket,
      region: s3.region,
      prefix: s3.prefix,
      forcePathStyle: s3.forcePathStyle,
      redirectExpirySeconds: s3.redirect ? s3.redirectExpiry : 0,
    });
    await driver.ensureBucket();
    blobs = new DriverBlobStore(driver);
  } else {
    blobs = new DriverBlobStore(new FsDriver(paths.storageRoot), { reserve });
  }
  const sqliteExisted = !config.metadata.postgres && existsSync(paths.sqlite);
  const metadata = await openMetadata(config, options.cwd, (reason) =>
    log.error({ path: paths.sqlite, reason }, 'metadata database lost: refusing writes until restart'),
  );
  try {
    // A lost or mis-pointed database beside stored blobs must not quietly become an empty registry.
    if (!options.init && !(await metadata.initialized()) && (await holdsBlobs(blobs))) {
      const where = config.metadata.postgres ? 'the PostgreSQL database' : paths.sqlite;
      throw new BerthError(
        'METADATA_MISSING',
        `the blob store ${config.storage.s3.bucket ? `S3 bucket ${config.storage.s3.bucket}` : paths.storageRoot} holds blobs but the metadata database (${where}) is new: restore the database or point the config at it; to start an empty registry beside these blobs anyway, run berth serve --init`,
      );
    }
    await metadata.migrate();
  } catch (error) {
    await metadata.close();
    // Leave no empty database behind: the next start must refuse in the same way.
    if (!config.metadata.postgres && !sqliteExisted)
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${paths.sqlite}${suffix}`, { force: true });
    throw error;
  }
  const pullLog = new PullLog({
    write: (pulls) => metadata.retention.recordPulls(pulls),
    flushInterval: config.retention.pullFlushInterval * 1000,
    maxEntries: config.retention.pullFlushEntries,
    log,
  });
  const immutability = new TagImmutabilityGuard(metadata.immutability);
  // Issue 15: each background job runs on the one node holding its lease (with SQLite: always this one).
  const leaseHolder = leaseHolderName();
  const jobLease = (name: string): JobLease =>
    new JobLease({
      store: metadata.leases,
      name,
      holder: leaseHolder,
      clock,
      ttlMs: config.jobs.leaseTtl * 1000,
      log,
    });
  const leases = {
    purge: jobLease('upload-purge'),
    eventPrune: jobLease('event-prune'),
    gc: jobLease('gc'),
    gcRun: jobLease('gc-run'),
    retention: jobLease('retention'),
  };
  const retention = new RetentionJobs(
    metadata.retention,
    clock,
    log,
    (project) => immutability.immutableCheckFor(project),
    leases.retention,
  );
  // Admission at push (issue 14): a project's policy is checked by the server itself; refusals are audited.
  let auditAdmission: AdmissionAudit = async () => {};
  const admission = new PushAdmission(metadata.admission, metadata, blobs, clock, (event) =>
    auditAdmission(event),
  );
  // The trust policy at pull (issue 14): trust/ verifies each signature layer against the rule's key.
  const trust = new PullTrust(
    metadata.trust,
    metadata,
    blobs,
    ({ layer, payload, publicKeyPem, digest }) =>
      checkSignatureLayer({ layer, payload, publicKey: readPublicKey(publicKeyPem), digest, required: {} })
        .verified,
    (event) => auditAdmission(event),
  );
  const registry = new Registry(
    blobs,
    metadata,
    {
      admission,
      trust,
      deletes: config.registry.deletes,
      maxManifestSize: config.registry.maxManifestSize,
      mountDiscovery: config.registry.mountDiscovery,
      headFromMetadata: Boolean(config.storage.s3.bucket),
      events: config.events.enabled,
    },
    log,
    clock,
    pullLog,
    immutability,
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
      clock,
    );
    const auditing = access;
    auditAdmission = (event) => auditing.audit(event);
    if (config.auth.rolesFile) {
      const count = await loadRolesFile(
        resolve(options.cwd ?? process.cwd(), config.auth.rolesFile),
        metadata.access,
        clock.now(),
      );
      log.info({ roles: count, file: config.auth.rolesFile }, 'policy roles loaded');
    }
  }
  // Observability (issue 13): metrics in a registry of their own, pull events in batches, event pruning.
  const metrics = config.metrics.enabled
    ? new RegistryMetrics({ clock, storageBytes: () => storageByProject(metadata) })
    : undefined;
  const pullEvents = config.events.enabled
    ? new PullEventBatcher(metadata.events, clock, (error) =>
        log.error({ err: error }, 'pull events not written'),
      )
    : undefined;
  pullEvents?.start(PULL_EVENT_FLUSH_MS);
  const eventPruneJob = config.events.enabled
    ? schedulePurge(
        () =>
          leases.eventPrune.run(async () => {
            try {
              const removed = await pruneEvents(metadata.events, config.events, clock.now());
              if (removed > 0) log.info({ removed }, 'events pruned');
            } catch (error) {
              log.error({ err: error }, 'event pruning failed');
            }
          }),
        config.events.pruneInterval * 1000,
        log,
      )
    : undefined;
  const gc = new GcService(
    {
      meta: metadata,
      blobs,
      clock,
      log,
      uploadMaxAgeMs: config.registry.uploadPurge.maxAge * 1000,
    },
    { defaultGraceMs: config.gc.grace * 1000, lease: leases.gc, runLease: leases.gcRun },
  );
  if (config.gc.schedule) {
    try {
      gc.schedule(config.gc.schedule);
    } catch (error) {
      throw new BerthError('CONFIG_INVALID', `config key gc.schedule: ${(error as Error).message}`);
    }
  }
  // Webhooks (issue 13): fed from the events table, so they need events on.
  const webhooksOn = config.webhooks.enabled && config.events.enabled;
  const webhooks = webhooksOn
    ? new WebhookDispatcher({
        webhooks: metadata.webhooks,
        events: metadata.events,
        settings: config.webhooks,
        clock,
        log,
      })
    : undefined;
  webhooks?.start(config.webhooks.pollInterval);
  let started = false;
  const app = buildHttpServer(registry, log, {
    idleTimeout: config.http.idleTimeout,
    chunkMinLength: config.registry.chunkMinLength,
    readOnly: config.registry.readOnly,
    access,
    retention,
    admin: access
      ? new AdminService(access, {
          immutability: metadata.immutability,
          admission: {
            store: metadata.admission,
            check: (text, source) => void parseAdmissionPolicy(text, source),
            trust: metadata.trust,
            checkKey: (pem) => void readPublicKey(pem),
          },
        })
      : undefined,
    gc,
    // Issue 12: deleting whole repositories, storage usage.
    repositories: new RepositoryLifecycle(metadata.repositories, immutability),
    realm: config.auth.token.realm,
    trustedProxies: config.http.trustedProxies,
    https: tls ? { cert: tls.cert, key: tls.key } : undefined,
    onStorageFull: () => reserve.release('metadata store'),
    // Not ready until the start is complete: the port opens before the first admin is set up.
    readiness: async () => (started ? metadata.readiness() : 'starting'),
    observability: { metrics, metricsToken: config.metrics.token || undefined, pulls: pullEvents },
    events: config.events.enabled ? metadata.events : undefined,
    webhooks: webhooksOn
      ? { store: metadata.webhooks, clock, allowPrivateTargets: config.webhooks.allowPrivateTargets }
      : undefined,
    // `berth report` reads rows only; pushes and pulls come from events, so it says when those are off.
    report: new HealthReports(
      metadata.report,
      () => metadata.storageByRepository(),
      clock,
      config.events.enabled,
    ),
  });
  const purge = config.registry.uploadPurge;
  const purgeJob = schedulePurge(
    () => leases.purge.run(() => purgeStaleUploads(blobs, metadata, purge.maxAge * 1000, clock.now(), log)),
    purge.interval * 1000,
    log,
  );
  const blobCheck = config.storage.blobCheck;
  const blobCheckJob =
    blobCheck.interval > 0
      ? scheduleBlobCheck(
          (signal) =>
            checkBlobs(blobs, metadata, {
              repair: blobCheck.repair,
              bytesPerSecond: blobCheck.bytesPerSecond,
              clock: paceClockOn(clock),
              log,
              signal,
            }),
          blobCheck.interval * 1000,
          log,
        )
      : undefined;
  // The port and the database first: a start that fails there must not have touched the admin account.
  let firstAdmin: Awaited<ReturnType<typeof ensureFirstAdmin>> | undefined;
  try {
    await app.listen({ host, port });
    // gc-run is held only while a run runs (GcService takes it).
    for (const lease of [leases.purge, leases.eventPrune, leases.gc, leases.retention]) lease.start();
    await retention.start();
    if (access) firstAdmin = await ensureFirstAdmin(access.store, options.adminPassword, clock.now());
  } catch (error) {
    await app.close();
    await retention.stop();
    await pullLog.close();
    await gc.stop();
    await blobCheckJob?.stop();
    await purgeJob.stop();
    await eventPruneJob?.stop();
    await webhooks?.stop();
    for (const lease of Object.values(leases)) await lease.stop();
    await pullEvents?.stop();
    await metadata.close();
    throw error;
  }
  // A run a stopped server left under way goes on from its checkpoint; then the schedule, if any.
  await gc.resumeInterrupted();
  if (firstAdmin?.kind === 'set')
    log.info(
      { user: FIRST_ADMIN, created: firstAdmin.created },
      'admin password set from BERTH_ADMIN_PASSWORD',
    );
  if (firstAdmin?.kind === 'blocked')
    log.warn(
      { user: FIRST_ADMIN },
      'no usable admin: the user admin is not a system admin; berth admin reset-password sets a password',
    );
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
        await retention.stop();
        await pullLog.close();
        await gc.stop();
        await blobCheckJob?.stop();
        await purgeJob.stop();
        await eventPruneJob?.stop();
        await webhooks?.stop();
        // Once no job runs here: the others take the jobs at once instead of after the leases' time.
        for (const lease of Object.values(leases)) await lease.stop();
        // After the server stopped answering: every pull it served is written.
        await pullEvents?.stop();
        await metadata.close();
      }
    })();
    return closing;
  };
  const url = `${tls ? 'https' : 'http'}://${hostPort}`;
  const data = describeDataLocation(config, options.cwd);
  log.info(
    { url, data, metadata: metadata.dialect, auth: config.auth.mode, ca: tls?.caPath },
    'registry listening',
  );
  const generated = firstAdmin?.kind === 'generated' ? firstAdmin : undefined;
  await options.announce?.({ url, data, adminPassword: generated?.password, caPath: tls?.caPath });
  if (generated) {
    // Shown (or handed to the caller): only now does the password open the account.
    if (await generated.confirm()) {
      adminPassword = generated.password;
      log.info({ user: FIRST_ADMIN, created: generated.created }, 'admin password generated and shown');
    } else
      log.warn({ user: FIRST_ADMIN }, 'admin password replaced by another node starting at the same time');
  }
  started = true;
  return {
    url,
    hostPort,
    app,
    registry,
    metadata,
    access,
    adminPassword,
    caPath: tls?.caPath,
    pullEvents,
    pullLog,
    retention,
    gc,
    webhooks,
    close,
  };
}

import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type { GcProgress, GcRunRecord } from '../metadata/gc-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { JobLease } from './job-lease.js';
import { purgeStaleUploads } from './upload-purge.js';

export type { GcRunRecord } from '../metadata/gc-store.js';

export interface GcDeps {
  meta: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  log: Logger;
  /** Upload sessions not written to for this long go with the run (the upload purge folded in). */
  uploadMaxAgeMs: number;
  /** Blob rows examined per batch: memory stays flat in the number of blobs, progress is saved per batch. */
  batchSize?: number;
}

export interface GcRequest {
  dryRun: boolean;
  /** Also delete untagged manifests that nothing lists (created before the cutoff). */
  untagged: boolean;
  graceMs: number;
  trigger: 'manual' | 'schedule';
}

const DEFAULT_BATCH = 500;

/** Why a run stopped early: the caller cancelled it, or the server is shutting down (it resumes later). */
export class GcStopped extends Error {
  constructor(readonly status: 'cancelled' | 'interrupted') {
    super(`gc ${status}`);
  }
}

/**
 * One garbage collection run, resumable from its checkpoint: finish blobs an earlier run marked, purge stale
 * uploads, optionally delete untagged manifests, then walk the blob rows in digest order, a batch at a time:
 * mark the collectable ones in one statement, delete their bytes, drop their rows and links. No lock is taken
 * beyond one statement's rows: pushes and pulls go on, and the mark statement settles every race with them
 * (see `GcStore`). Separate from any scheduler, so a lease can wrap it.
 */
export async function runGc(
  deps: GcDeps,
  run: GcRunRecord,
  signal: AbortSignal,
  onProgress?: (progress: GcProgress) => void,
): Promise<GcProgress> {
  const { meta, blobs, log } = deps;
  const batch = deps.batchSize ?? DEFAULT_BATCH;
  const progress: GcProgress = {
    blobsExamined: run.blobsExamined,
    bytesExamined: run.bytesExamined,
    blobsFreed: run.blobsFreed,
    bytesFreed: run.bytesFreed,
    manifestsFreed: run.manifestsFreed,
    uploadsPurged: run.uploadsPurged,
  };
  const stopIfAsked = (): void => {
    if (signal.aborted) throw signal.reason instanceof GcStopped ? signal.reason : new GcStopped('cancelled');
  };
  const deleteMarked = async (marked: { digest: Digest; size: number }[]): Promise<void> => {
    // Bytes first, then the rows: a stop in between leaves rows marked, which the next run finishes.
    for (const blob of marked) await blobs.delete(blob.digest);
    await meta.gc.dropMarkedBlobs(marked.map((b) => b.digest));
  };

  if (!run.dryRun) {
    for (;;) {
      stopIfAsked();
      const left = await meta.gc.markedBlobs(batch);
      if (left.length === 0) break;
      await deleteMarked(left);
      progress.blobsFreed += left.length;
      progress.bytesFreed += left.reduce((sum, b) => sum + b.size, 0);
    }
  }
  if (run.checkpoint === undefined && !run.dryRun) {
    const purged = await purgeStaleUploads(blobs, meta, deps.uploadMaxAgeMs, deps.clock.now(), log);
    progress.uploadsPurged += purged.removed;
  }
  if (run.untagged && run.checkpoint === undefined) {
    // Deleting an index makes its children untagged and unlisted: repeat until a pass deletes nothing.
    for (let deleted = -1; deleted !== 0; ) {
      deleted = 0;
      const ids = await meta.gc.untaggedManifests(run.cutoff, batch);
      for (const id of ids) {
        stopIfAsked();
        if (run.dryRun || (await meta.gc.deleteUntaggedManifest(id))) deleted += 1;
      }
      progress.manifestsFreed += deleted;
      // A dry run deletes nothing, so the same page would come back: one pass is what it can report.
      if (run.dryRun || ids.length < batch) break;
    }
  }
  let after = run.checkpoint;
  for (;;) {
    stopIfAsked();
    const page = await meta.gc.blobPage(after, batch);
    if (page.length === 0) break;
    progress.blobsExamined += page.length;
    progress.bytesExamined += page.reduce((sum, b) => sum + b.size, 0);
    const marked = await meta.gc.markBlobs(
      page.map((b) => b.digest),
      run.cutoff,
      !run.dryRun,
    );
    if (!run.dryRun) await deleteMarked(marked);
    progress.blobsFreed += marked.length;
    progress.bytesFreed += marked.reduce((sum, b) => sum + b.size, 0);
    after = page[page.length - 1]?.digest;
    await meta.gc.saveProgress(run.id, progress, after);
    onProgress?.({ ...progress });
  }
  return progress;
}

export interface GcServiceOptions {
  /** The grace period a run takes when its request names none. */
  defaultGraceMs: number;
  /**
   * With several nodes: the schedule fires only on the node that holds this lease (one scheduled run per
   * tick across the nodes, not one per node).
   */
  lease?: JobLease | undefined;
  /**
   * With several nodes: held by whichever node runs a run (any of them may, on `berth gc`), renewed while it
   * runs, released when it ends. Another node refuses a second run, and treats a `running` row as left by a
   * dead node only once it could take this lease.
   */
  runLease?: JobLease | undefined;
}

/**
 * Starts runs one at a time on this server, keeps their state in the metadata store, cancels them, and runs
 * the cron schedule. A run left `running` by a stopped server is resumed from its checkpoint on `start`.
 */
export class GcService {
  #current: { id: number; controller: AbortController; done: Promise<void> } | undefined;
  #cron: Cron | undefined;

  constructor(
    private readonly deps: GcDeps,
    private readonly options: GcServiceOptions,
  ) {}

  get defaultGraceMs(): number {
    return this.options.defaultGraceMs;
  }

  /** Marks runs a stopped server left `running` as interrupted, then resumes the newest of them. */
  async resumeInterrupted(): Promise<GcRunRecord | undefined> {
    if (this.#current) return undefined;
    // Another node's run is under way: its `running` row is no orphan.
    if (!(await this.#takeRunLease())) return undefined;
    let launched = false;
    try {
      await this.deps.meta.gc.interruptRunning();
      const left = await this.deps.meta.gc.latestInterrupted();
      if (!left || this.#current) return undefined;
      const reopened = await this.deps.meta.gc.resumeRun(left.id);
      if (!reopened) return undefined;
      this.deps.log.info({ run: reopened.id, checkpoint: reopened.checkpoint }, 'gc run resumed');
      this.#launch(reopened);
      launched = true;
      return reopened;
    } finally {
      if (!launched) await this.#dropRunLease();
    }
  }

  /** Takes the run lease and keeps renewing it (true), or finds another node running (false). */
  async #takeRunLease(): Promise<boolean> {
    const lease = this.options.runLease;
    if (!lease) return true;
    if (!(await lease.acquire())) return false;
    lease.start();
    return true;
  }

  async #dropRunLease(): Promise<void> {
    await this.options.runLease?.stop();
  }

  /** Starts a run in the background and returns its record; `CONFLICT` while one runs. */
  async start(request: GcRequest): Promise<GcRunRecord> {
    if (this.#current) {
      throw new BerthError('CONFLICT', `garbage collection run ${this.#current.id} is running`);
    }
    if (!(await this.#takeRunLease())) {
      const running = (await this.deps.meta.gc.history(1))[0];
      const which = running?.status === 'running' ? ` (run ${running.id})` : '';
      throw new BerthError('CONFLICT', `a garbage collection run${which} is running on another node`);
    }
    const now = this.deps.clock.now();
    let run: GcRunRecord;
    try {
      run = await this.deps.meta.gc.createRun({
        trigger: request.trigger,
        dryRun: request.dryRun,
        untagged: request.untagged,
        graceMs: request.graceMs,
        cutoff: now - request.graceMs,
        startedAt: now,
      });
    } catch (error) {
      await this.#dropRunLease();
      throw error;
    }
    this.deps.log.info(
      { run: run.id, dryRun: run.dryRun, untagged: run.untagged, graceMs: run.graceMs, trigger: run.trigger },
      'gc run started',
    );
    this.#launch(run);
    return run;
  }

  #launch(run: GcRunRecord): void {
    const controller = new AbortController();
    const done = (async () => {
      try {
        const progress = await runGc(this.deps, run, controller.signal);
        await this.deps.meta.gc.finishRun(run.id, 'succeeded', this.deps.clock.now());
        this.deps.log.info({ run: run.id, ...progress }, 'gc run finished');
      } catch (error) {
        const status = error instanceof GcStopped ? error.status : 'failed';
        const message = error instanceof GcStopped ? undefined : (error as Error).message;
        await this.deps.meta.gc
          .finishRun(run.id, status, this.deps.clock.now(), message)
          .catch((e: unknown) => this.deps.log.error({ err: e, run: run.id }, 'gc run state not saved'));
        if (status === 'failed') this.deps.log.error({ err: error, run: run.id }, 'gc run failed');
        else this.deps.log.info({ run: run.id, status }, 'gc run stopped');
      } finally {
        this.#current = undefined;
        await this.#dropRunLease();
      }
    })();
    this.#current = { id: run.id, controller, done };
  }

  /** The running run, else the newest one; undefined when there never was one. */
  async status(): Promise<GcRunRecord | undefined> {
    const id = this.#current?.id;
    if (id !== undefined) return this.deps.meta.gc.run(id);
    return (await this.deps.meta.gc.history(1))[0];
  }

  run(id: number): Promise<GcRunRecord | undefined> {
    return this.deps.meta.gc.run(id);
  }

  history(limit: number, before?: number): Promise<GcRunRecord[]> {
    return this.deps.meta.gc.history(limit, before);
  }

  /** Cancels the running run (it stops after the batch in hand); false when none runs. */
  async cancel(): Promise<boolean> {
    const current = this.#current;
    if (!current) return false;
    current.controller.abort(new GcStopped('cancelled'));
    await current.done;
    return true;
  }

  /** Waits for the running run, if any, to end. */
  async settled(): Promise<void> {
    await this.#current?.done;
  }

  /** Runs on the cron schedule; a tick while a run is under way is skipped. */
  schedule(pattern: string): void {
    this.#cron = new Cron(pattern, { protect: true }, async () => {
      if (this.#current) return;
      if (this.options.lease && !(await this.options.lease.acquire())) return;
      // A run a dead node left `running` goes on from its checkpoint before any new one starts.
      if (this.options.runLease && (await this.history(1))[0]?.status === 'running') {
        if (await this.resumeInterrupted().catch(() => undefined)) return;
      }
      await this.start({
        dryRun: false,
        untagged: false,
        graceMs: this.options.defaultGraceMs,
        trigger: 'schedule',
      }).catch((error: unknown) => this.deps.log.error({ err: error }, 'scheduled gc run not started'));
    });
  }

  /** Stops the schedule and interrupts a run under way; it resumes from its checkpoint on the next start. */
  async stop(): Promise<void> {
    this.#cron?.stop();
    const current = this.#current;
    if (!current) return;
    current.controller.abort(new GcStopped('interrupted'));
    await current.done;
  }
}

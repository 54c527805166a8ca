import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type { BlobDependents, MetadataStore } from '../metadata/metadata-store.js';
import { type Digest, digestAlgorithm, digestFromHash, EMPTY_JSON_DIGEST, isDigest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StorageError } from '../storage/storage-error.js';

/** Reading the time and waiting: the real one in production, a hand-driven one in tests. */
export interface PaceClock extends Clock {
  wait(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The server's clock with real waits. The pace is measured on `clock`, so a clock that does not move (a
 * test's `ManualClock`) with a rate limit makes each wait longer: such tests give their own `PaceClock`.
 */
export function paceClockOn(clock: Clock): PaceClock {
  return {
    now: () => clock.now(),
    wait: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
  };
}

export interface BlobProblem {
  digest: Digest;
  /** corrupt: the stored bytes hash to another digest; missing: a repository links it, storage has no bytes. */
  problem: 'corrupt' | 'missing';
  /** Size of the stored bytes (corrupt blobs). */
  size?: number;
  /** What the stored bytes hash to (corrupt blobs). */
  actual?: Digest;
  /** Where repair moved the bytes, relative to the storage root. */
  quarantined?: string;
  /** Repair found good bytes in place after all: a push replaced the corrupt ones meanwhile. */
  repairedByPush?: boolean;
  /** Per repository: the link, manifests and tags that cannot be pulled while this blob is bad. */
  dependents: BlobDependents[];
}

export interface BlobCheckReport {
  /** Blobs whose bytes were hashed. */
  checked: number;
  bytes: number;
  problems: BlobProblem[];
  /** False when the check was stopped before the end (shutdown). */
  complete: boolean;
  startedAt: number;
  finishedAt: number;
}

export interface BlobCheckOptions {
  /** Move corrupt bytes aside so that a push or mount stores the blob again. */
  repair: boolean;
  /** Most bytes read per second; 0 for no limit. */
  bytesPerSecond: number;
  clock: PaceClock;
  log: Logger;
  signal?: AbortSignal | undefined;
}

const PAGE = 500;

/** Paces reads to a rate: after each piece, waits until the bytes so far are no more than the rate allows. */
export class ByteRatePacer {
  private readonly start: number;
  private consumed = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: PaceClock,
  ) {
    this.start = clock.now();
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.bytesPerSecond <= 0) return;
    this.consumed += bytes;
    const due = this.start + (this.consumed / this.bytesPerSecond) * 1000;
    const ahead = due - this.clock.now();
    if (ahead > 0) await this.clock.wait(ahead, signal);
  }
}

/**
 * Re-hashes every stored blob and compares it with its name, then looks for blobs that repositories link
 * but storage lacks. Each problem comes with what it breaks. With `repair`, corrupt bytes are moved aside:
 * the blob then reads as missing, so a client's push (which checks for the blob first) or a mount stores it
 * again, and the upload's commit publishes the verified bytes.
 */
export async function checkBlobs(
  blobs: BlobStore,
  meta: MetadataStore,
  options: BlobCheckOptions,
): Promise<BlobCheckReport> {
  const { clock, log, signal } = options;
  const startedAt = clock.now();
  const pacer = new ByteRatePacer(options.bytesPerSecond, clock);
  const problems: BlobProblem[] = [];
  const corrupt = new Set<Digest>();
  let checked = 0;
  let bytes = 0;
  let complete = true;
  try {
    for await (const info of blobs.list()) {
      signal?.throwIfAborted();
      if (!isDigest(info.digest)) continue;
      const actual = await hashBlob(blobs, info.digest, pacer, signal);
      if (actual === undefined) continue;
      checked += 1;
      bytes += info.size;
      if (actual === info.digest) continue;
      const problem: BlobProblem = {
        digest: info.digest,
        problem: 'corrupt',
        size: info.size,
        actual,
        dependents: await meta.blobDependents(info.digest),
      };
      corrupt.add(info.digest);
      if (options.repair) {
        const aside = await blobs.quarantine(info.digest, clock.now());
        if (aside) problem.quarantined = aside;
        else problem.repairedByPush = true;
      }
      problems.push(problem);
    }
    for (let after: string | undefined; ; ) {
      const page = await meta.linkedBlobDigests({ after, limit: PAGE });
      for (const digest of page) {
        signal?.throwIfAborted();
        // The empty JSON descriptor is served without bytes; everything else needs them.
        if (digest === EMPTY_JSON_DIGEST || (await blobs.stat(digest))) continue;
        if (corrupt.has(digest)) continue;
        problems.push({ digest, problem: 'missing', dependents: await meta.blobDependents(digest) });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
    complete = false;
  }
  const report: BlobCheckReport = { checked, bytes, problems, complete, startedAt, finishedAt: clock.now() };
  for (const p of problems) {
    log.warn(
      {
        digest: p.digest,
        problem: p.problem,
        actual: p.actual,
        quarantined: p.quarantined,
        repositories: p.dependents.map((d) => d.repository),
        tags: p.dependents.flatMap((d) => d.tags.map((tag) => `${d.repository}:${tag}`)),
      },
      'blob check found a bad blob',
    );
  }
  log.info(
    { checked, bytes, problems: problems.length, complete, ms: report.finishedAt - startedAt },
    'blob check finished',
  );
  return report;
}

/** The digest of a blob's stored bytes, or undefined when it went away meanwhile (GC). */
async function hashBlob(
  blobs: BlobStore,
  digest: Digest,
  pacer: ByteRatePacer,
  signal: AbortSignal | undefined,
): Promise<Digest | undefined> {
  const algorithm = digestAlgorithm(digest);
  const hash = createHash(algorithm);
  let stream: AsyncIterable<unknown>;
  try {
    stream = await blobs.read(digest, undefined, signal);
  } catch (error) {
    if ((error as StorageError | undefined)?.reason === 'blob-unknown') return undefined;
    throw error;
  }
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    await pacer.take((chunk as Buffer).length, signal);
  }
  return digestFromHash(hash, algorithm);
}

/** Runs the check every `intervalMs`; `stop` ends a run under way and waits for it. */
export function scheduleBlobCheck(
  run: (signal: AbortSignal) => Promise<BlobCheckReport>,
  intervalMs: number,
  log: Logger,
): { stop(): Promise<void>; lastReport(): BlobCheckReport | undefined } {
  const controller = new AbortController();
  let current: Promise<void> | undefined;
  let last: BlobCheckReport | undefined;
  const tick = (): void => {
    current ??= run(controller.signal)
      .then((report) => {
        last = report;
      })
      .catch((error: unknown) => log.error({ err: error }, 'blob check failed'))
      .finally(() => {
        current = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      controller.abort(new Error('shutting down'));
      await current;
    },
    lastReport: () => last,
  };
}

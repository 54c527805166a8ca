import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StorageError } from '../storage/storage-error.js';

export interface PurgeResult {
  /** Sessions removed: rows, their bytes, and bytes no row knew of (left by a crash mid-request). */
  removed: number;
}

const BATCH = 500;

/**
 * Removes upload sessions nobody has written to for `maxAgeMs`: clients that gave up or crashed, and
 * single-request uploads cut by a killed server. Idempotent, so several nodes may run it at once.
 */
export async function purgeStaleUploads(
  blobs: BlobStore,
  meta: MetadataStore,
  maxAgeMs: number,
  now: number,
  log: Logger,
): Promise<PurgeResult> {
  const before = now - maxAgeMs;
  let removed = 0;
  // Stale only when neither the row nor the bytes moved lately: a long streamed PATCH writes bytes for
  // hours before it touches its row.
  const removeIfStale = async (id: string): Promise<void> => {
    const row = await meta.getUpload(id);
    if (row && row.updatedAt >= before) return;
    const stored = await blobs.statUpload(id);
    if (stored && stored.modified.getTime() >= before) {
      if (row) await meta.touchUpload(id, stored.modified.getTime());
      return;
    }
    if (stored) {
      try {
        await (await blobs.resumeUpload(id)).cancel();
      } catch (error) {
        if ((error as StorageError | undefined)?.reason !== 'upload-unknown') throw error;
      }
    }
    if (row) await meta.deleteUpload(id);
    removed += 1;
  };
  const seen = new Set<string>();
  // Every stale row is either removed or touched, so each batch makes progress.
  for (;;) {
    const stale = await meta.staleUploads(before, BATCH);
    for (const id of stale) {
      seen.add(id);
      await removeIfStale(id);
    }
    if (stale.length < BATCH) break;
  }
  // Bytes whose session row is gone or was never written (a single-request upload cut by a kill).
  for await (const upload of blobs.listUploads()) {
    if (upload.modified.getTime() < before && !seen.has(upload.id)) await removeIfStale(upload.id);
  }
  if (removed > 0) log.info({ removed, maxAgeSeconds: maxAgeMs / 1000 }, 'stale uploads purged');
  return { removed };
}

/** Runs the purge soon after start and then every `intervalMs`; `stop` waits for a run under way. */
export function schedulePurge(
  run: () => Promise<unknown>,
  intervalMs: number,
  log: Logger,
): { stop(): Promise<void> } {
  let current: Promise<void> | undefined;
  const tick = (): void => {
    current ??= run()
      .then(() => undefined)
      .catch((error: unknown) => log.error({ err: error }, 'upload purge failed'))
      .finally(() => {
        current = undefined;
      });
  };
  const first = setTimeout(tick, 1000);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await current;
    },
  };
}

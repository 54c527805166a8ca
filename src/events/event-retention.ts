import type { EventStore } from '../metadata/event-store.js';

export interface EventRetention {
  /** Seconds an event is kept; 0: no age limit. */
  maxAge: number;
  /** Events kept at most; 0: no count limit. */
  maxCount: number;
}

/** What pruning removes at `now`: events before `before`, all but the newest `keep`. Pure, for tests. */
export function eventPruning(
  retention: EventRetention,
  now: number,
): { before: number | undefined; keep: number | undefined } {
  return {
    before: retention.maxAge > 0 ? now - retention.maxAge * 1000 : undefined,
    keep: retention.maxCount > 0 ? retention.maxCount : undefined,
  };
}

/** One pruning run; returns how many events went. */
export async function pruneEvents(
  store: EventStore,
  retention: EventRetention,
  now: number,
): Promise<number> {
  const { before, keep } = eventPruning(retention, now);
  if (before === undefined && keep === undefined) return 0;
  return store.prune(before, keep);
}

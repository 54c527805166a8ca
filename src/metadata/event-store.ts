/**
 * Durable events: one row per thing that happened, written in the transaction of the change it describes
 * (`MetadataQueries.recordEvents`), read back by id (keyset) by `berth events`, its stream, and (later) the
 * webhook queue, which keeps the last id it delivered.
 */
export const EVENT_TYPES = [
  'push',
  'pull',
  'delete',
  'tag',
  'mount',
  'login_failure',
  'denied',
  'quota_warning',
  'gc',
  'retention',
  // A webhook endpoint turned off after a run of failed deliveries.
  'webhook_disabled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export interface NewEvent {
  type: EventType;
  /** Milliseconds since the epoch, from the server's clock. */
  at: number;
  repository?: string | undefined;
  project?: string | undefined;
  digest?: string | undefined;
  tag?: string | undefined;
  /** The user or robot that caused it (`anonymous` for a caller without credentials); absent with `auth: none` and for the server's own jobs. */
  actor?: string | undefined;
  payload?: Record<string, unknown> | undefined;
}

export interface EventRecord {
  /** Increases with every event written: a reader resumes after the last id it saw. */
  id: number;
  type: EventType;
  at: number;
  repository: string | null;
  project: string | null;
  digest: string | null;
  tag: string | null;
  actor: string | null;
  payload: Record<string, unknown> | null;
}

export interface EventQuery {
  /** Events with an id above this one. */
  afterId?: number | undefined;
  /** Events at or after this time (milliseconds since the epoch). */
  since?: number | undefined;
  types?: EventType[] | undefined;
  /** At most this many rows. */
  limit: number;
}

export interface EventStore {
  /** Events in id order; filters that need a decision per row (globs, access) are applied by the caller. */
  list(query: EventQuery): Promise<EventRecord[]>;
  /** Writes events outside any change of the registry's (login failures, denied requests, pull batches). */
  record(events: NewEvent[]): Promise<void>;
  /** Deletes events older than `before` and all but the newest `keep`; returns how many went. */
  prune(before: number | undefined, keep: number | undefined): Promise<number>;
  /** The highest id written so far (0 when none): where a follower that wants only new events starts. */
  lastId(): Promise<number>;
}

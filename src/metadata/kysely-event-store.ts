import type { Kysely, Transaction } from 'kysely';
import type { EventQuery, EventRecord, EventStore, EventType, NewEvent } from './event-store.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

// A payload is the event's small details (media type, source repository); bounded so one event stays a row.
const MAX_PAYLOAD_CHARS = 8192;

/** Inserts events with `db`, which is the change's own transaction when the caller is inside one. */
export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => {
        const payload = e.payload === undefined ? null : JSON.stringify(e.payload);
        return {
          type: e.type,
          at: e.at,
          repository: e.repository ?? null,
          project: e.project ?? null,
          digest: e.digest ?? null,
          tag: e.tag ?? null,
          actor: e.actor ?? null,
          payload: payload !== null && payload.length > MAX_PAYLOAD_CHARS ? null : payload,
        };
      }),
    )
    .execute();
}

export class KyselyEventStore implements EventStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(query: EventQuery): Promise<EventRecord[]> {
    let q = this.db.selectFrom('events').selectAll().orderBy('id').limit(query.limit);
    if (query.afterId !== undefined) q = q.where('id', '>', query.afterId);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.types && query.types.length > 0) q = q.where('type', 'in', query.types);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      type: r.type as EventType,
      at: Number(r.at),
      repository: r.repository,
      project: r.project,
      digest: r.digest,
      tag: r.tag,
      actor: r.actor,
      payload: r.payload ? (JSON.parse(r.payload) as Record<string, unknown>) : null,
    }));
  }

  record(events: NewEvent[]): Promise<void> {
    return insertEvents(this.db, events);
  }

  async prune(before: number | undefined, keep: number | undefined): Promise<number> {
    let removed = 0;
    if (before !== undefined) {
      const result = await this.db.deleteFrom('events').where('at', '<', before).executeTakeFirst();
      removed += Number(result.numDeletedRows);
    }
    if (keep !== undefined) {
      // The id of the oldest event to keep: everything below it goes.
      const edge = await this.db
        .selectFrom('events')
        .select('id')
        .orderBy('id', 'desc')
        .offset(Math.max(0, keep - 1))
        .limit(1)
        .executeTakeFirst();
      if (edge) {
        const result = await this.db.deleteFrom('events').where('id', '<', edge.id).executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
    }
    return removed;
  }

  async lastId(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return row?.id == null ? 0 : Number(row.id);
  }
}

import type { Kysely, Selectable } from 'kysely';
import type { EventType } from './event-store.js';
import type { Database } from './schema.js';
import type {
  Delivery,
  DeliveryOutcome,
  DeliveryState,
  NewWebhook,
  Webhook,
  WebhookFormat,
  WebhookStore,
} from './webhook-store.js';

const FEED = 'webhooks';
// An error text is a diagnosis, not a document: bounded so one delivery stays a small row.
const MAX_ERROR_CHARS = 500;

function webhookOf(row: Selectable<Database['webhooks']>): Webhook {
  return {
    id: Number(row.id),
    project: row.project,
    url: row.url,
    eventTypes: row.event_types.split(',').filter(Boolean) as EventType[],
    secret: row.secret,
    format: row.format as WebhookFormat,
    createdAt: Number(row.created_at),
    enabled: Number(row.enabled) === 1,
    failures: Number(row.failures),
  };
}

function deliveryOf(row: Selectable<Database['webhook_deliveries']>): Delivery {
  return {
    id: Number(row.id),
    webhookId: Number(row.webhook_id),
    eventId: Number(row.event_id),
    state: row.state as DeliveryState,
    attempt: Number(row.attempt),
    nextAt: Number(row.next_at),
    responseStatus: row.response_status === null ? null : Number(row.response_status),
    responseMs: row.response_ms === null ? null : Number(row.response_ms),
    error: row.error,
    updatedAt: Number(row.updated_at),
  };
}

export class KyselyWebhookStore implements WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async add(webhook: NewWebhook): Promise<Webhook> {
    const row = await this.db
      .insertInto('webhooks')
      .values({
        project: webhook.project,
        url: webhook.url,
        event_types: webhook.eventTypes.join(','),
        secret: webhook.secret,
        format: webhook.format,
        enabled: 1,
        failures: 0,
        created_at: webhook.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return webhookOf(row);
  }

  async list(project: string): Promise<Webhook[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('project', '=', project)
      .orderBy('id')
      .execute();
    return rows.map(webhookOf);
  }

  async get(id: number): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? webhookOf(row) : undefined;
  }

  async remove(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      const result = await tx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async enabled(): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('enabled', '=', 1).execute();
    return rows.map(webhookOf);
  }

  async setEnabled(id: number, enabled: boolean, failures: number): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({ enabled: enabled ? 1 : 0, failures })
      .where('id', '=', id)
      .execute();
  }

  async feedCursor(): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_feed')
      .select('last_event_id')
      .where('name', '=', FEED)
      .executeTakeFirst();
    return row ? Number(row.last_event_id) : 0;
  }

  async enqueue(
    deliveries: { webhookId: number; eventId: number }[],
    cursor: number,
    at: number,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (deliveries.length > 0)
        await tx
          .insertInto('webhook_deliveries')
          .values(
            deliveries.map((d) => ({
              webhook_id: d.webhookId,
              event_id: d.eventId,
              state: 'pending',
              attempt: 0,
              next_at: at,
              response_status: null,
              response_ms: null,
              error: null,
              updated_at: at,
            })),
          )
          .execute();
      await tx
        .insertInto('webhook_feed')
        .values({ name: FEED, last_event_id: cursor })
        .onConflict((oc) => oc.column('name').doUpdateSet({ last_event_id: cursor }))
        .execute();
    });
  }

  async due(now: number, limit: number): Promise<Delivery[]> {
    // Only enabled endpoints: a turned-off endpoint's queue waits without crowding out the others'.
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .selectAll('d')
      .where('d.state', '=', 'pending')
      .where('d.next_at', '<=', now)
      .where('w.enabled', '=', 1)
      .orderBy('d.next_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    return rows.map(deliveryOf);
  }

  async record(id: number, outcome: DeliveryOutcome): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        attempt: outcome.attempt,
        next_at: outcome.nextAt,
        response_status: outcome.responseStatus,
        response_ms: outcome.responseMs,
        error: outcome.error === null ? null : outcome.error.slice(0, MAX_ERROR_CHARS),
        updated_at: outcome.at,
      })
      .where('id', '=', id)
      .execute();
  }

  async deliveries(webhookId: number, limit: number, beforeId?: number): Promise<Delivery[]> {
    let q = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .limit(limit);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    return (await q.execute()).map(deliveryOf);
  }

  async delivery(id: number): Promise<Delivery | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? deliveryOf(row) : undefined;
  }

  async redeliver(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', next_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}

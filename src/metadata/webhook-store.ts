/**
 * Webhooks: endpoints per project, and a durable delivery queue fed from the events table by id (keyset),
 * so that a restart resumes where the feed stopped and no delivery is lost or made twice.
 */
import type { EventType } from './event-store.js';

export const WEBHOOK_FORMATS = ['berth', 'cloudevents'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface NewWebhook {
  project: string;
  url: string;
  eventTypes: EventType[];
  secret: string;
  format: WebhookFormat;
  createdAt: number;
}

export interface Webhook extends NewWebhook {
  id: number;
  enabled: boolean;
  /** Failed attempts in a row; reset by a success. */
  failures: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: number;
  webhookId: number;
  eventId: number;
  state: DeliveryState;
  /** Attempts made so far. */
  attempt: number;
  /** When a pending delivery is next tried (milliseconds since the epoch). */
  nextAt: number;
  responseStatus: number | null;
  responseMs: number | null;
  error: string | null;
  updatedAt: number;
}

export interface DeliveryOutcome {
  state: DeliveryState;
  attempt: number;
  nextAt: number;
  responseStatus: number | null;
  responseMs: number | null;
  error: string | null;
  at: number;
}

export interface WebhookStore {
  add(webhook: NewWebhook): Promise<Webhook>;
  list(project: string): Promise<Webhook[]>;
  get(id: number): Promise<Webhook | undefined>;
  /** Removes the endpoint and its deliveries; false when there was none. */
  remove(id: number): Promise<boolean>;
  /** The enabled endpoints of every project, read once per feed pass. */
  enabled(): Promise<Webhook[]>;
  setEnabled(id: number, enabled: boolean, failures: number): Promise<void>;
  /** The last event id the feed queued deliveries for (0 when it never ran). */
  feedCursor(): Promise<number>;
  /** Queues deliveries and moves the cursor in one transaction, so that a crash queues a batch whole or not at all. */
  enqueue(deliveries: { webhookId: number; eventId: number }[], cursor: number, at: number): Promise<void>;
  /** Pending deliveries of enabled endpoints due at `now`, oldest first. */
  due(now: number, limit: number): Promise<Delivery[]>;
  record(id: number, outcome: DeliveryOutcome): Promise<void>;
  /** The endpoint's deliveries, newest first, below `beforeId` when given. */
  deliveries(webhookId: number, limit: number, beforeId?: number): Promise<Delivery[]>;
  delivery(id: number): Promise<Delivery | undefined>;
  /** Makes a delivery pending again, due at `now`. */
  redeliver(id: number, now: number): Promise<void>;
}

/**
 * Webhook delivery. A feed turns events into queued deliveries (rows in the metadata store, read from the
 * events table by id), and a sender posts due deliveries, at most `concurrency` at a time per endpoint,
 * retrying with backoff. Nothing here runs inside a push: a slow or dead receiver holds only its own slots.
 */
import { randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Clock } from '../clock/clock.js';
import type { EventRecord, EventStore } from '../metadata/event-store.js';
import type { Delivery, Webhook, WebhookStore } from '../metadata/webhook-store.js';
import {
  afterAttempt,
  isInternalAddress,
  type RetryPolicy,
  SIGNATURE_HEADER,
  shouldDisable,
  signatureHeader,
} from './webhook-policy.js';

export type { Delivery, Webhook, WebhookFormat, WebhookStore } from '../metadata/webhook-store.js';
export { WEBHOOK_FORMATS } from '../metadata/webhook-store.js';

export interface WebhookSettings extends RetryPolicy {
  /** Deliveries in flight per endpoint. */
  concurrency: number;
  /** Milliseconds a receiver has to answer. */
  timeout: number;
  /** Failed attempts in a row after which an endpoint is turned off (0: never). */
  disableAfter: number;
  /** Whether endpoints may resolve to loopback, link-local and private addresses. */
  allowPrivateTargets: boolean;
}

export class WebhookTargetError extends Error {}

// Events read per feed query, and the most deliveries looked at per pass.
const FEED_BATCH = 500;
const DUE_BATCH = 200;
// A receiver's answer is read only this far: a status is what counts.
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The event as a webhook body carries it: Berth's documented JSON (docs/webhook-event.schema.json). */
export function webhookEventJson(event: EventRecord) {
  return {
    id: event.id,
    type: event.type,
    at: new Date(event.at).toISOString(),
    ...(event.repository !== null ? { repository: event.repository } : {}),
    ...(event.project !== null ? { project: event.project } : {}),
    ...(event.digest !== null ? { digest: event.digest } : {}),
    ...(event.tag !== null ? { tag: event.tag } : {}),
    ...(event.actor !== null ? { actor: event.actor } : {}),
    ...(event.payload !== null ? { payload: event.payload } : {}),
  };
}

/** The body and content type of one delivery, in the endpoint's format. */
export function webhookBody(webhook: Webhook, event: EventRecord): { body: string; contentType: string } {
  const data = webhookEventJson(event);
  if (webhook.format === 'cloudevents')
    return {
      contentType: 'application/cloudevents+json',
      body: JSON.stringify({
        specversion: '1.0',
        id: String(event.id),
        source: `/berth/projects/${webhook.project}`,
        type: `io.berth.${event.type}`,
        time: data.at,
        ...(event.repository !== null ? { subject: event.repository } : {}),
        datacontenttype: 'application/json',
        data,
      }),
    };
  return { contentType: 'application/json', body: JSON.stringify(data) };
}

/** Whether the endpoint wants this event. */
export function webhookWants(webhook: Webhook, event: EventRecord): boolean {
  return (
    webhook.enabled &&
    event.project === webhook.project &&
    (webhook.eventTypes.length === 0 || webhook.eventTypes.includes(event.type))
  );
}

/** Refuses an internal address when the settings do not allow it (at add time and again at connect time). */
export async function checkWebhookUrl(raw: string, allowPrivateTargets: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookTargetError(`a webhook URL is http:// or https://, not ${url.protocol}`);
  if (url.username || url.password) throw new WebhookTargetError('a webhook URL carries no credentials');
  if (allowPrivateTargets) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (error, found) =>
          error
            ? reject(new WebhookTargetError(`${host} does not resolve`))
            : resolve(found.map((a) => a.address)),
        ),
      );
  const refused = addresses.find(isInternalAddress);
  if (refused !== undefined)
    throw new WebhookTargetError(
      `${host} resolves to ${refused}, an internal address (webhooks.allowPrivateTargets allows it)`,
    );
  return url;
}

/**
 * The connection's own lookup refuses internal addresses, so a name that resolved to a public address when
 * it was checked cannot connect to an internal one later (DNS rebinding).
 */
async function guardedAgent(allowPrivateTargets: boolean, timeout: number): Promise<Agent> {
  // Loaded on the first delivery: a server whose projects have no webhooks never loads the HTTP client.
  const { Agent } = await import('undici');
  if (allowPrivateTargets)
    return new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout });
  const lookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, found) => {
      if (error) return callback(error, []);
      const refused = found.find((a) => isInternalAddress(a.address));
      if (refused) return callback(new WebhookTargetError(`${hostname} resolves to an internal address`), []);
      if (options.all) return callback(null, found);
      const first = found[0];
      if (!first) return callback(new WebhookTargetError(`${hostname} does not resolve`), []);
      callback(null, first.address, first.family);
    });
  };
  return new Agent({
    connect: { timeout, lookup: lookup as never },
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
}

export interface WebhookDispatcherOptions {
  webhooks: WebhookStore;
  events: EventStore;
  settings: WebhookSettings;
  clock: Clock;
  log: Logger;
  /** [0, 1): jitter; tests pass a fixed one. */
  random?: () => number;
  /** Called after each attempt (metrics). */
  onAttempt?: (ok: boolean) => void;
}

export class WebhookDispatcher {
  private readonly inFlight = new Map<number, Set<number>>();
  private readonly running = new Set<Promise<void>>();
  private agent: Promise<Agent> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: WebhookDispatcherOptions) {}

  private connections(): Promise<Agent> {
    this.agent ??= guardedAgent(this.options.settings.allowPrivateTargets, this.options.settings.timeout);
    return this.agent;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** One pass (feed, then start due deliveries), unless one is running; resolves when the pass is done. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pass ??= this.runPass()
      .catch((error: unknown) => this.options.log.error({ err: error }, 'webhook pass failed'))
      .finally(() => {
        this.pass = undefined;
      });
    return this.pass;
  }

  /** Waits for the deliveries in flight (tests, and a clean stop). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.pass;
    await this.settle();
    if (this.agent) await (await this.agent).close();
  }

  private async runPass(): Promise<void> {
    await this.feed();
    await this.send();
  }

  /** Queues a delivery per enabled endpoint that wants each event after the cursor. */
  private async feed(): Promise<void> {
    const { webhooks, events, clock } = this.options;
    for (;;) {
      const cursor = await webhooks.feedCursor();
      const batch = await events.list({ afterId: cursor, limit: FEED_BATCH });
      const last = batch.at(-1);
      if (!last) return;
      const endpoints = await webhooks.enabled();
      const queued: { webhookId: number; eventId: number }[] = [];
      for (const event of batch)
        for (const endpoint of endpoints)
          if (webhookWants(endpoint, event)) queued.push({ webhookId: endpoint.id, eventId: event.id });
      await webhooks.enqueue(queued, last.id, clock.now());
      if (batch.length < FEED_BATCH) return;
    }
  }

  private async send(): Promise<void> {
    const { webhooks, clock, settings } = this.options;
    const due = await webhooks.due(clock.now(), DUE_BATCH);
    const endpoints = new Map<number, Webhook | undefined>();
    for (const delivery of due) {
      const slots = this.inFlight.get(delivery.webhookId) ?? new Set<number>();
      if (slots.has(delivery.id) || slots.size >= settings.concurrency) continue;
      if (!endpoints.has(delivery.webhookId))
        endpoints.set(delivery.webhookId, await webhooks.get(delivery.webhookId));
      const endpoint = endpoints.get(delivery.webhookId);
      if (!endpoint?.enabled) continue;
      slots.add(delivery.id);
      this.inFlight.set(delivery.webhookId, slots);
      const run = this.deliver(endpoint, delivery)
        .catch((error: unknown) =>
          this.options.log.error({ err: error, delivery: delivery.id }, 'webhook delivery not recorded'),
        )
        .finally(() => {
          slots.delete(delivery.id);
          this.running.delete(run);
        });
      this.running.add(run);
    }
  }

  private async deliver(endpoint: Webhook, delivery: Delivery): Promise<void> {
    const { webhooks, events, clock, settings, log } = this.options;
    const [event] = await events.list({ afterId: delivery.eventId - 1, limit: 1 });
    const attempt = delivery.attempt + 1;
    if (!event || event.id !== delivery.eventId) {
      // The event was pruned before it could be sent: nothing left to deliver.
      await webhooks.record(delivery.id, {
        state: 'failed',
        attempt,
        nextAt: delivery.nextAt,
        responseStatus: null,
        responseMs: null,
        error: 'event pruned before delivery',
        at: clock.now(),
      });
      return;
    }
    const { body, contentType } = webhookBody(endpoint, event);
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      // Checked again at send time: the config or the name's addresses may have changed since it was added.
      const url = await checkWebhookUrl(endpoint.url, settings.allowPrivateTargets);
      const { request } = await import('undici');
      const response = await request(url, {
        method: 'POST',
        dispatcher: await this.connections(),
        headers: {
          'content-type': contentType,
          'user-agent': 'berth-webhook',
          'berth-event': event.type,
          'berth-delivery': String(delivery.id),
          'berth-attempt': String(attempt),
          'idempotency-key': `${endpoint.id}-${event.id}`,
          [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, Math.floor(clock.now() / 1000), body),
          'x-request-id': randomUUID(),
        },
        body,
        signal: AbortSignal.timeout(settings.timeout),
      });
      status = response.statusCode;
      let read = 0;
      for await (const chunk of response.body) {
        read += (chunk as Buffer).length;
        if (read > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          break;
        }
      }
      if (status < 200 || status >= 300) error = `receiver answered ${status}`;
    } catch (failure) {
      error = failure instanceof Error ? failure.message || failure.name : String(failure);
    }
    const ok = error === null;
    const responseMs = Math.round(performance.now() - started);
    const now = clock.now();
    const decision = afterAttempt(settings, attempt, ok, now, (this.options.random ?? Math.random)());
    await webhooks.record(delivery.id, {
      state: decision.state,
      attempt,
      nextAt: decision.state === 'pending' ? decision.nextAt : now,
      responseStatus: status,
      responseMs,
      error,
      at: now,
    });
    this.options.onAttempt?.(ok);
    // The run of failures is the endpoint's, read fresh: other deliveries to it run at the same time.
    const current = await webhooks.get(endpoint.id);
    if (!current) return;
    const failures = ok ? 0 : current.failures + 1;
    if (!ok && current.enabled && shouldDisable(failures, settings.disableAfter)) {
      await webhooks.setEnabled(endpoint.id, false, failures);
      await events.record([
        {
          type: 'webhook_disabled',
          at: now,
          project: endpoint.project,
          payload: { webhook: endpoint.id, url: endpoint.url, failures },
        },
      ]);
      log.warn(
        { webhook: endpoint.id, project: endpoint.project, failures },
        'webhook turned off after failures',
      );
    } else if (failures !== current.failures)
      await webhooks.setEnabled(endpoint.id, current.enabled, failures);
  }
}

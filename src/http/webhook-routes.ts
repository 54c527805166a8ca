import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService } from '../access/admin-service.js';
import type { Clock } from '../clock/clock.js';
import { EVENT_TYPES, type EventType } from '../events/event-log.js';
import {
  checkWebhookUrl,
  type Delivery,
  WEBHOOK_FORMATS,
  type Webhook,
  type WebhookStore,
  WebhookTargetError,
} from '../jobs/webhook-delivery.js';
import { AdminError } from './admin-error.js';
import { type CallOf, isoTime, parseInput, pathParam, projectNameSchema, readJson } from './admin-request.js';

// A project's endpoints are few; the bound keeps one project from making every event fan out without end.
const MAX_WEBHOOKS_PER_PROJECT = 20;

const addSchema = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).optional(),
    secret: z.string().min(16).max(256).optional(),
    format: z.enum(WEBHOOK_FORMATS).optional(),
  })
  .strict();

const idSchema = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

function webhookJson(webhook: Webhook, secret?: string) {
  return {
    id: webhook.id,
    project: webhook.project,
    url: webhook.url,
    events: webhook.eventTypes,
    format: webhook.format,
    enabled: webhook.enabled,
    failures: webhook.failures,
    createdAt: isoTime(webhook.createdAt),
    // The secret is shown once, when the endpoint is added.
    ...(secret !== undefined ? { secret } : {}),
  };
}

function deliveryJson(delivery: Delivery) {
  return {
    id: delivery.id,
    event: delivery.eventId,
    state: delivery.state,
    attempt: delivery.attempt,
    ...(delivery.state === 'pending' ? { nextAt: isoTime(delivery.nextAt) } : {}),
    ...(delivery.responseStatus !== null ? { status: delivery.responseStatus } : {}),
    ...(delivery.responseMs !== null ? { responseMs: delivery.responseMs } : {}),
    ...(delivery.error !== null ? { error: delivery.error } : {}),
    updatedAt: isoTime(delivery.updatedAt),
  };
}

export interface WebhookRouteOptions {
  store: WebhookStore;
  clock: Clock;
  allowPrivateTargets: boolean;
}

/**
 * `/api/v1/projects/{project}/webhooks`: a project's endpoints, their delivery log and redelivery. Managing
 * them is for system admins and the project's project-admins; others are denied as for its members.
 */
export function registerWebhookRoutes(
  api: FastifyInstance,
  admin: AdminService,
  callOf: CallOf,
  { store, clock, allowPrivateTargets }: WebhookRouteOptions,
): void {
  const projectOf = async (request: FastifyRequest, what: string): Promise<string> => {
    const name = parseInput(projectNameSchema, pathParam(request, 'name'), 'name');
    return (await admin.projects.managed(callOf(request), name, what)).name;
  };
  const webhookOf = async (request: FastifyRequest, project: string): Promise<Webhook> => {
    const id = parseInput(idSchema, pathParam(request, 'id'), 'id');
    const webhook = await store.get(id);
    if (!webhook || webhook.project !== project)
      throw new AdminError('NOT_FOUND', `no webhook ${id} in project "${project}"`);
    return webhook;
  };

  api.get('/projects/:name/webhooks', async (request) => {
    const project = await projectOf(request, 'see webhooks');
    return { webhooks: (await store.list(project)).map((w) => webhookJson(w)) };
  });

  api.post('/projects/:name/webhooks', async (request, reply) => {
    const project = await projectOf(request, 'add webhooks');
    const input = await readJson(request, addSchema);
    try {
      await checkWebhookUrl(input.url, allowPrivateTargets);
    } catch (error) {
      if (error instanceof WebhookTargetError) throw new AdminError('INVALID', `url: ${error.message}`);
      throw error;
    }
    if ((await store.list(project)).length >= MAX_WEBHOOKS_PER_PROJECT)
      throw new AdminError(
        'CONFLICT',
        `project "${project}" has ${MAX_WEBHOOKS_PER_PROJECT} webhooks already`,
      );
    const secret = input.secret ?? randomBytes(32).toString('hex');
    const webhook = await store.add({
      project,
      url: input.url,
      eventTypes: [...new Set(input.events ?? [])] as EventType[],
      secret,
      format: input.format ?? 'berth',
      createdAt: clock.now(),
    });
    return reply.code(201).send(webhookJson(webhook, secret));
  });

  api.delete('/projects/:name/webhooks/:id', async (request, reply) => {
    const project = await projectOf(request, 'remove webhooks');
    await store.remove((await webhookOf(request, project)).id);
    return reply.code(204).send();
  });

  api.get('/projects/:name/webhooks/:id/deliveries', async (request) => {
    const project = await projectOf(request, 'see webhook deliveries');
    const webhook = await webhookOf(request, project);
    const query = parseInput(deliveriesQuery, request.query, 'query');
    const rows = await store.deliveries(webhook.id, query.limit, query.before);
    const last = rows.at(-1);
    return {
      deliveries: rows.map(deliveryJson),
      ...(rows.length === query.limit && last ? { next: last.id } : {}),
    };
  });

  api.post('/projects/:name/webhooks/:id/deliveries/:delivery/redeliver', async (request, reply) => {
    const project = await projectOf(request, 'redeliver webhooks');
    const webhook = await webhookOf(request, project);
    const id = parseInput(idSchema, pathParam(request, 'delivery'), 'delivery');
    const delivery = await store.delivery(id);
    if (!delivery || delivery.webhookId !== webhook.id)
      throw new AdminError('NOT_FOUND', `no delivery ${id} of webhook ${webhook.id}`);
    await store.redeliver(id, clock.now());
    return reply.code(202).send({ id, state: 'pending' });
  });
}

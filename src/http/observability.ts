import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { projectOf } from '../access/principal.js';
import type { RegistryMetrics } from '../events/metrics.js';
import type { PullEventBatcher } from '../events/pull-events.js';
import { methodLabel, pathOf, routeFamily } from '../events/route-family.js';
import { isLoopbackHost } from '../oci/reference.js';
import { parseV2Path } from '../oci/v2-path.js';
import type { AuthGate } from './auth-gate.js';

export interface ObservabilityOptions {
  metrics?: RegistryMetrics | undefined;
  /** With a token every caller of /metrics must send it as a bearer; without, only loopback callers may. */
  metricsToken?: string | undefined;
  /** Pull events, batched. */
  pulls?: PullEventBatcher | undefined;
}

// An incoming X-Request-Id is kept when it is this short and printable ASCII; anything else gets a new id.
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Fastify's `genReqId`: the caller's `X-Request-Id` when it is sane, else a fresh UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Whether the connection (not a forwarded header) comes from this machine. */
function fromLoopback(request: FastifyRequest): boolean {
  const address = request.raw.socket.remoteAddress ?? '';
  return isLoopbackHost(address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface RequestStart {
  readAt: number;
  writtenAt: number;
  upload: boolean;
}

/**
 * Request ids on every request (its log lines carry `reqId`; the answer carries `X-Request-Id`), request
 * metrics, pull events, and `/metrics`.
 */
export function registerObservability(
  app: FastifyInstance,
  gate: AuthGate,
  options: ObservabilityOptions,
): void {
  const { metrics, pulls } = options;
  const starts = new WeakMap<FastifyRequest, RequestStart>();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    if (!metrics) return;
    const socket = request.raw.socket;
    const upload =
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      request.method !== 'DELETE' &&
      parseV2Path(pathOf(request.url))?.kind.startsWith('upload') === true;
    if (upload) metrics.uploadStarted();
    starts.set(request, { readAt: socket.bytesRead, writtenAt: socket.bytesWritten, upload });
  });
  if (metrics || pulls) {
    app.addHook('onResponse', async (request, reply) => {
      const path = pathOf(request.url);
      const route = parseV2Path(path);
      const family = routeFamily(path, route);
      const status = reply.statusCode;
      if (metrics) {
        const start = starts.get(request);
        const socket = request.raw.socket;
        const seconds = reply.elapsedTime / 1000;
        metrics.observeRequest({
          family,
          method: methodLabel(request.method),
          status,
          seconds,
          received: start ? Math.max(0, socket.bytesRead - start.readAt) : 0,
          sent: start ? Math.max(0, socket.bytesWritten - start.writtenAt) : 0,
        });
        if (start?.upload) metrics.uploadEnded(seconds);
      }
      if (route?.kind !== 'manifest') return;
      if (request.method === 'GET' && status === 200) {
        const project = projectOf(route.name);
        metrics?.pulled(project);
        const digest = reply.getHeader('Docker-Content-Digest');
        if (pulls && typeof digest === 'string') {
          pulls.note({
            repository: route.name,
            project,
            digest,
            tag: route.reference.includes(':') ? undefined : route.reference,
            actor: gate.enabled ? await gate.owner(request).catch(() => undefined) : undefined,
          });
        }
      } else if (request.method === 'PUT' && status === 201) {
        metrics?.pushed(projectOf(route.name));
      }
    });
  }

  if (!metrics) return;
  app.get('/metrics', async (request, reply) => {
    const token = options.metricsToken;
    if (token) {
      if (!tokenMatches(request.headers.authorization, token)) {
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer realm="berth-metrics"')
          .send({
            errors: [{ code: 'UNAUTHORIZED', message: 'metrics need the bearer token (metrics.token)' }],
          });
      }
    } else if (!fromLoopback(request)) {
      return reply.code(403).send({
        errors: [
          { code: 'DENIED', message: 'metrics answer loopback callers only unless metrics.token is set' },
        ],
      });
    }
    const text = await metrics.text();
    return reply.header('Content-Type', metrics.contentType).send(text);
  });
}

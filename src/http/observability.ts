import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
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

interface SocketMark {
  read: number;
  written: number;
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
  const uploads = new WeakSet<FastifyRequest>();
  // A socket's byte counts when its last answer ended: a request's bytes are the difference at the end of
  // its own (HTTP/1.1 answers in order; its head and small bodies are often read before any hook runs).
  const marks = new WeakMap<Socket, SocketMark>();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    if (!metrics) return;
    const upload =
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      request.method !== 'DELETE' &&
      parseV2Path(pathOf(request.url))?.kind.startsWith('upload') === true;
    if (upload) {
      metrics.uploadStarted();
      uploads.add(request);
    }
  });
  if (metrics || pulls) {
    app.addHook('onResponse', async (request, reply) => {
      const path = pathOf(request.url);
      const route = parseV2Path(path);
      const family = routeFamily(path, route);
      const status = reply.statusCode;
      if (metrics) {
        const socket = request.raw.socket;
        const mark = marks.get(socket) ?? { read: 0, written: 0 };
        const now = { read: socket.bytesRead, written: socket.bytesWritten };
        marks.set(socket, now);
        const seconds = reply.elapsedTime / 1000;
        metrics.observeRequest({
          family,
          method: methodLabel(request.method),
          status,
          seconds,
          received: Math.max(0, now.read - mark.read),
          sent: Math.max(0, now.written - mark.written),
        });
        if (uploads.has(request)) metrics.uploadEnded(seconds);
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

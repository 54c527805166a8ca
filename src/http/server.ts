import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { AccessService } from '../access/access-service.js';
import type { AdminService } from '../access/admin-service.js';
import type { EventStore } from '../events/event-log.js';
import type { HealthReports } from '../events/health-reports.js';
import type { GcService } from '../jobs/gc.js';
import type { RetentionJobs } from '../jobs/retention-jobs.js';
import { RegistryError } from '../oci/errors.js';
import { parseV2Path } from '../oci/v2-path.js';
import type { Registry } from '../registry/registry.js';
import type { RepositoryLifecycle } from '../registry/repository-lifecycle.js';
import { storageFailure } from '../registry/storage-failure.js';
import { AdminError } from './admin-error.js';
import { registerAdminRoutes } from './admin-routes.js';
import { authGate, OPEN_GATE } from './auth-gate.js';
import { EVERY_EVENT, registerEventRoutes } from './event-routes.js';
import { type ObservabilityOptions, registerObservability, requestId } from './observability.js';
import { registerTokenRoute } from './token-route.js';
import { registerV2Routes } from './v2/router.js';
import type { WebhookRouteOptions } from './webhook-routes.js';

export interface HttpOptions {
  /** Seconds a connection may stay silent before it is dropped. */
  idleTimeout: number;
  chunkMinLength: number;
  /** Pulls only: /v2/ registers no method that writes. */
  readOnly?: boolean | undefined;
  /** Checks every request; absent with `auth: none`. */
  access?: AccessService | undefined;
  /** The admin API's use cases (`/api/v1`), given with `access`. */
  admin?: AdminService | undefined;
  /** Retention policies and runs (`/api/v1/projects/{project}/retention`), given with `admin`. */
  retention?: RetentionJobs | undefined;
  /** Garbage collection runs (`/api/v1/gc`), given with `admin`. */
  gc?: GcService | undefined;
  /** Deleting repositories, storage usage (`/api/v1/repositories`, `/api/v1/storage`), given with `admin`. */
  repositories?: RepositoryLifecycle | undefined;
  /** `/api/v1/report` (issue 13's quarterly health check). */
  report?: HealthReports | undefined;
  /** The token endpoint to send clients to; empty: /token on the request's host. */
  realm?: string | undefined;
  /** Addresses and CIDRs whose `X-Forwarded-For` gives the client address (`request.ip`); others' is ignored. */
  trustedProxies?: string[] | undefined;
  /** Serve HTTPS with this certificate and key. */
  https?: { cert: string; key: string } | undefined;
  /** Told when the metadata store or the disk reports that it is full (the storage reserve is released). */
  onStorageFull?: (() => Promise<void>) | undefined;
  /** Why the server cannot take writes now (for `/readyz`); undefined when it can. */
  readiness?: (() => Promise<string | undefined>) | undefined;
  /** Metrics and pull events (issue 13). */
  observability?: ObservabilityOptions | undefined;
  /** `/api/v1/events`; absent when events are off. */
  events?: EventStore | undefined;
  /** Webhook management (`/api/v1/projects/{project}/webhooks`); absent when webhooks are off. */
  webhooks?: WebhookRouteOptions | undefined;
}

type SchemaCompilers = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorSelector = NonNullable<SchemaCompilers['buildValidator']>;
type SerializerSelector = NonNullable<SchemaCompilers['buildSerializer']>;

/**
 * No route declares a JSON schema (bodies are parsed with zod at the edge), so Fastify's schema compilers
 * (Ajv, fast-json-stringify) are loaded only if one ever does, from Fastify's own folder as Fastify would:
 * a few MiB less in every idle server.
 */
function schemaCompilersOnDemand(): SchemaCompilers {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  // One selector each, made on first use, as Fastify makes them: they keep the pool of built compilers.
  let validators: ValidatorSelector | undefined;
  let serializers: SerializerSelector | undefined;
  return {
    buildValidator: (schemas, options) => {
      validators ??= fromFastify('@fastify/ajv-compiler')() as ValidatorSelector;
      return validators(schemas, options);
    },
    buildSerializer: (schemas, options) => {
      serializers ??= fromFastify('@fastify/fast-json-stringify-compiler')() as SerializerSelector;
      return serializers(schemas, options);
    },
  };
}

/** Fastify error codes a client causes, mapped into the registry's error table. */
function fromFastifyError(error: FastifyError): RegistryError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RegistryError('SIZE_INVALID', { reason: 'body too large' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RegistryError('SIZE_INVALID', { reason: error.message });
    case 'FST_ERR_BAD_URL':
      return new RegistryError('REQUEST_INVALID', { reason: 'the path is not valid percent-encoding' });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new RegistryError('REQUEST_INVALID', { reason: 'the path is too long' });
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new RegistryError('NOT_FOUND', { reason: error.message });
  }
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (status) {
    case 404:
      return new RegistryError('NOT_FOUND', { reason: error.message });
    case 405:
      return new RegistryError('METHOD_UNKNOWN', { reason: error.message });
    case 413:
      return new RegistryError('SIZE_INVALID', { reason: error.message });
    case 415:
      return new RegistryError('MEDIA_TYPE_UNSUPPORTED', { reason: error.message });
    default:
      return new RegistryError('REQUEST_INVALID', { reason: error.message });
  }
}

/**
 * Every error goes out as OCI error JSON with its length; a HEAD gets the same status and headers, with the
 * Content-Length of the body a GET would have had and no body.
 */
function sendRegistryError(request: FastifyRequest, reply: FastifyReply, error: RegistryError): FastifyReply {
  const body = Buffer.from(JSON.stringify(error.toJSON()));
  reply
    .code(error.status)
    .headers(error.headers)
    .header('Content-Type', 'application/json')
    .header('Content-Length', String(body.length))
    .header('Docker-Distribution-API-Version', 'registry/2.0');
  // A Buffer, so that the type is the same with and without a body (Fastify adds a charset to strings).
  return reply.send(request.method === 'HEAD' ? undefined : body);
}

/** Errors Node's HTTP parser finds before there is a request (broken headers, unknown methods, oversize heads). */
function clientErrorResponse(error: NodeJS.ErrnoException): string {
  const registryError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new RegistryError('HEADERS_TOO_LARGE')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new RegistryError('REQUEST_TIMEOUT')
        : new RegistryError('REQUEST_INVALID', { reason: 'malformed HTTP request' });
  const body = JSON.stringify(registryError.toJSON());
  return [
    `HTTP/1.1 ${registryError.status} ${STATUS_CODES[registryError.status] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Docker-Distribution-API-Version: registry/2.0',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** With `auth: none` (loopback only) the events are everyone's, as every repository is. */
function registerOpenEventRoutes(app: FastifyInstance, events: EventStore): void {
  app.register(
    async (api) => {
      api.setErrorHandler(async (error: FastifyError | AdminError, request, reply) => {
        if (!(error instanceof AdminError)) request.log.error({ err: error }, 'events request failed');
        const failure = error instanceof AdminError ? error : new AdminError('UNKNOWN', 'internal error');
        return reply
          .code(failure.status)
          .header('Content-Type', 'application/json')
          .send(JSON.stringify(failure.toJSON()));
      });
      registerEventRoutes(api, events, EVERY_EVENT);
    },
    { prefix: '/api/v1' },
  );
}

export function buildHttpServer(registry: Registry, log: Logger, options: HttpOptions): FastifyInstance {
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    loggerInstance: log as FastifyBaseLogger,
    // Every log line of a request carries its id (`reqId`); a caller's own X-Request-Id is kept when sane.
    genReqId: requestId,
    logController: new LogController({ disableRequestLogging: true }),
    // Blobs are large and slow clients exist: no limit on a whole request, only on silence.
    requestTimeout: 0,
    connectionTimeout: options.idleTimeout * 1000,
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 4096 },
    exposeHeadRoutes: false,
    schemaController: { compilersFactory: schemaCompilersOnDemand() },
    // Errors Fastify meets before routing (a path that is not valid percent-encoding) take the same road.
    frameworkErrors: (error, request, reply) =>
      sendRegistryError(
        request,
        reply,
        fromFastifyError(error) ?? new RegistryError('REQUEST_INVALID', { reason: error.message }),
      ),
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorResponse(error));
      socket.destroy(error);
    },
    // Login limits count per client address: only a listed proxy may say who the client is.
    trustProxy: options.trustedProxies && options.trustedProxies.length > 0 ? options.trustedProxies : false,
  });

  // Bodies are streamed by the handlers themselves (blobs) or read with a limit (manifests): no parsing here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
  });
  // On shutdown, a request still in flight gets its answer and then its connection closes, so that a
  // keep-alive client cannot hold the process open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });
  if (log.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
        'request completed',
      );
    });
  }

  app.setErrorHandler(async (error: FastifyError | RegistryError, request, reply) => {
    // A body the handler stopped reading (the disk filled up, the body ran past its length) is read to its
    // end and dropped, so the client gets this answer instead of a broken pipe.
    if (!request.raw.complete && !request.raw.destroyed) request.raw.resume();
    // What the registry's use cases did not map themselves (a full database disk met by an access check's
    // write, for one) is mapped by the registry's table all the same.
    const registryError =
      error instanceof RegistryError
        ? error
        : (fromFastifyError(error as FastifyError) ?? storageFailure(error));
    // Releasing the reserve is idempotent: the blob store may have done it already.
    if (registryError?.kind === 'STORAGE_FULL') await options.onStorageFull?.();
    if (!registryError) {
      if (request.raw.destroyed || request.raw.socket?.destroyed) {
        request.log.info({ method: request.method, url: request.url }, 'client disconnected during request');
      } else {
        request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
      }
      return sendRegistryError(request, reply, new RegistryError('UNKNOWN'));
    }
    request.log.debug(
      { method: request.method, url: request.url, code: registryError.code, status: registryError.status },
      'request refused',
    );
    return sendRegistryError(request, reply, registryError);
  });

  app.setNotFoundHandler((request, reply) => {
    const query = request.url.indexOf('?');
    const path = query < 0 ? request.url : request.url.slice(0, query);
    // An API path asked with a method no route takes (OPTIONS, TRACE, PROPFIND...) is a 405, not a 404.
    const error = parseV2Path(path)
      ? new RegistryError('METHOD_UNKNOWN', { method: request.method, path })
      : new RegistryError('NOT_FOUND', { path });
    return sendRegistryError(request, reply, error);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // Alive is not ready: a server whose metadata file was deleted still answers, but must not take writes.
  app.get('/readyz', async (_request, reply) => {
    const reason = await options.readiness?.();
    if (reason === undefined) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', reason });
  });
  let gate = OPEN_GATE;
  if (options.access) {
    gate = authGate(options.access, {
      realm: options.realm ?? '',
      service: options.access.tokens.settings.service,
    });
    registerTokenRoute(app, options.access);
    if (options.admin) {
      registerAdminRoutes(app, options.access, options.admin, {
        events: options.events,
        retention: options.retention,
        gc: options.gc,
        repositories: options.repositories,
        webhooks: options.webhooks,
        report: options.report,
      });
    }
  } else if (options.events) {
    registerOpenEventRoutes(app, options.events);
  }
  registerObservability(app, gate, options.observability ?? {});
  registerV2Routes(
    app,
    registry,
    { chunkMinLength: options.chunkMinLength, readOnly: options.readOnly },
    gate,
  );
  return app;
}

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { AccessService } from '../access/access-service.js';
import { RegistryError } from '../oci/errors.js';
import type { Registry } from '../registry/registry.js';
import { registerAdminRoutes } from './admin-routes.js';
import { authGate, OPEN_GATE } from './auth-gate.js';
import { registerTokenRoute } from './token-route.js';
import { registerV2Routes } from './v2-routes.js';

export interface HttpOptions {
  /** Seconds a connection may stay silent before it is dropped. */
  idleTimeout: number;
  chunkMinLength: number;
  /** Checks every request; absent with `auth: none`. */
  access?: AccessService | undefined;
  /** The token endpoint to send clients to; empty: /token on the request's host. */
  realm?: string | undefined;
  /** Addresses and CIDRs whose `X-Forwarded-For` gives the client address (`request.ip`); others' is ignored. */
  trustedProxies?: string[] | undefined;
  /** Serve HTTPS with this certificate and key. */
  https?: { cert: string; key: string } | undefined;
}

/** Fastify error codes a client causes, mapped into the registry's error table. */
function fromFastifyError(error: FastifyError): RegistryError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RegistryError('SIZE_INVALID', { reason: 'body too large' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RegistryError('SIZE_INVALID', { reason: error.message });
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new RegistryError('NOT_FOUND', { reason: error.message });
    default:
      return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? new RegistryError('UNSUPPORTED', { reason: error.message })
        : undefined;
  }
}

export function buildHttpServer(registry: Registry, log: Logger, options: HttpOptions): FastifyInstance {
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Blobs are large and slow clients exist: no limit on a whole request, only on silence.
    requestTimeout: 0,
    connectionTimeout: options.idleTimeout * 1000,
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 4096 },
    exposeHeadRoutes: false,
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

  app.setErrorHandler((error: FastifyError | RegistryError, request, reply) => {
    const registryError =
      error instanceof RegistryError ? error : (fromFastifyError(error as FastifyError) ?? undefined);
    if (!registryError) {
      if (request.raw.destroyed || request.raw.socket?.destroyed) {
        request.log.info({ method: request.method, url: request.url }, 'client disconnected during request');
      } else {
        request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
      }
      const internal = new RegistryError('UNKNOWN');
      return reply.code(internal.status).header('Content-Type', 'application/json').send(internal.toJSON());
    }
    request.log.debug(
      { method: request.method, url: request.url, code: registryError.code, status: registryError.status },
      'request refused',
    );
    reply
      .code(registryError.status)
      .headers(registryError.headers)
      .header('Content-Type', 'application/json');
    if (request.method === 'HEAD') return reply.send();
    return reply.send(JSON.stringify(registryError.toJSON()));
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new RegistryError('NOT_FOUND', { path: request.url });
    reply.code(error.status).header('Content-Type', 'application/json').send(JSON.stringify(error.toJSON()));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  let gate = OPEN_GATE;
  if (options.access) {
    gate = authGate(options.access, {
      realm: options.realm ?? '',
      service: options.access.tokens.settings.service,
    });
    registerTokenRoute(app, options.access);
    registerAdminRoutes(app, options.access);
  }
  registerV2Routes(app, registry, { chunkMinLength: options.chunkMinLength }, gate);
  return app;
}

import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import type { AdminService, AuditRecord, Caller } from '../access/admin-service.js';
import type { EventStore } from '../events/event-log.js';
import type { HealthReports } from '../events/health-reports.js';
import type { GcService } from '../jobs/gc.js';
import type { RetentionJobs } from '../jobs/retention-jobs.js';
import { BERTH_ERROR_CODES, BerthError, RegistryError } from '../oci/errors.js';
import type { RepositoryLifecycle } from '../registry/repository-lifecycle.js';
import { registerAdmissionRoutes } from './admin-admission-routes.js';
import { AdminError, type AdminErrorKind } from './admin-error.js';
import { registerGcRoutes } from './admin-gc-routes.js';
import { registerImmutabilityRoutes } from './admin-immutability-routes.js';
import { registerProjectRoutes } from './admin-project-routes.js';
import { registerReportRoutes } from './admin-report-routes.js';
import { registerRepositoryRoutes } from './admin-repository-routes.js';
import { authenticateCaller, type CallOf, isoTime, parseInput } from './admin-request.js';
import { registerRetentionRoutes } from './admin-retention-routes.js';
import { registerRobotRoutes } from './admin-robot-routes.js';
import { registerRoleRoutes } from './admin-role-routes.js';
import { registerTrustRoutes } from './admin-trust-routes.js';
import { registerUserRoutes } from './admin-user-routes.js';
import { type EventVisibility, registerEventRoutes } from './event-routes.js';
import { registerWebhookRoutes, type WebhookRouteOptions } from './webhook-routes.js';

const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
  actor: z.string().min(1).max(200).optional(),
});

function auditJson(record: AuditRecord) {
  return {
    id: record.id,
    at: isoTime(record.at),
    actor: record.actor,
    actorKind: record.actorKind,
    event: record.event,
    ...(record.repository !== undefined ? { repository: record.repository } : {}),
    ...(record.action !== undefined ? { action: record.action } : {}),
    ...(record.source !== undefined ? { source: record.source } : {}),
    ...(record.detail !== undefined ? { detail: record.detail } : {}),
  };
}

/** Admins see every event; others those of repositories they may pull (one decision per repository). */
function eventVisibility(access: AccessService, callOf: CallOf): EventVisibility {
  return async (request) => {
    const { caller } = callOf(request);
    if (caller.kind === 'user' && caller.admin) return async () => true;
    const decided = new Map<string, boolean>();
    return async (repository) => {
      if (repository === null) return false;
      let pull = decided.get(repository);
      if (pull === undefined) {
        pull = (await access.actionsFor(caller, repository)).has('pull');
        decided.set(repository, pull);
      }
      return pull;
    };
  };
}

/** The admin service's failures carry the codes of the admin error table. */
function isAdminFailure(error: unknown): error is BerthError & { code: AdminErrorKind } {
  return error instanceof BerthError && 'httpStatus' in BERTH_ERROR_CODES[error.code];
}

/** The metadata store refusing writes (its file was deleted) throws this; it is not the caller's fault. */
function unavailable(error: unknown): error is RegistryError {
  return error instanceof RegistryError && error.kind === 'UNAVAILABLE';
}

/** The parts of the admin API that exist only when the server runs them. */
export interface AdminFeatures {
  /** Projects' webhooks and their delivery log. */
  webhooks?: WebhookRouteOptions | undefined;
  /** `/api/v1/events` and its stream. */
  events?: EventStore | undefined;
  /** Retention policies and runs. */
  retention?: RetentionJobs | undefined;
  /** Garbage collection runs. */
  gc?: GcService | undefined;
  /** Deleting whole repositories, storage usage. */
  repositories?: RepositoryLifecycle | undefined;
  /** `/api/v1/report`: the quarterly health check (`berth report`). */
  report?: HealthReports | undefined;
}

/**
 * The admin API, `/api/v1`: users, robots, projects and their members, policy roles, the audit log. JSON
 * in and out, every route behind a login. Only registered when access checks are on: with `auth: none`
 * there is nobody to manage, and the routes answer 404.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  access: AccessService,
  admin: AdminService,
  features: AdminFeatures = {},
): void {
  const { events, retention, gc, repositories, webhooks, report } = features;
  app.register(
    async (api) => {
      const callers = new WeakMap<FastifyRequest, Caller>();
      const callOf: CallOf = (request) => {
        const caller = callers.get(request);
        if (!caller) throw new AdminError('UNAUTHORIZED', 'authentication required');
        return {
          caller,
          source: request.ip,
          method: request.method,
          route: request.routeOptions.url ?? request.url,
        };
      };

      // Before routing, so that an unknown path tells an anonymous caller nothing either.
      api.addHook('onRequest', async (request) => {
        callers.set(request, await authenticateCaller(access, request));
      });

      api.setErrorHandler((error: FastifyError | AdminError, request, reply) => {
        let failure: AdminError;
        if (error instanceof AdminError) failure = error;
        else if (isAdminFailure(error)) failure = new AdminError(error.code, error.message);
        else if (unavailable(error)) failure = new AdminError('UNAVAILABLE', error.message);
        else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
          failure = new AdminError('INVALID', error.message);
        } else {
          request.log.error({ err: error, method: request.method, url: request.url }, 'admin request failed');
          failure = new AdminError('UNKNOWN', 'internal error');
        }
        if (failure.code === 'UNAUTHORIZED') reply.header('WWW-Authenticate', 'Basic realm="berth"');
        return reply
          .code(failure.status)
          .header('Content-Type', 'application/json')
          .send(JSON.stringify(failure.toJSON()));
      });

      api.setNotFoundHandler(async (request) => {
        throw new AdminError('NOT_FOUND', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`);
      });

      api.get('/me', async (request) => admin.me(callOf(request)));

      registerUserRoutes(api, admin, callOf);
      registerRobotRoutes(api, admin, callOf);
      registerProjectRoutes(api, admin, callOf);
      registerRoleRoutes(api, admin, callOf);
      if (admin.admission) registerAdmissionRoutes(api, admin.admission, callOf);
      if (admin.trust) registerTrustRoutes(api, admin.trust, callOf);
      if (events) registerEventRoutes(api, events, eventVisibility(access, callOf));
      if (retention) registerRetentionRoutes(api, admin, retention, callOf);
      registerImmutabilityRoutes(api, admin, callOf);
      if (gc) registerGcRoutes(api, gc, access, callOf);
      if (repositories) registerRepositoryRoutes(api, admin, repositories, callOf);
      if (webhooks) registerWebhookRoutes(api, admin, callOf, webhooks);
      if (report) registerReportRoutes(api, access, admin, report, callOf);

      api.get('/audit', async (request) => {
        const { events, next } = await admin.auditLog(callOf(request), () =>
          parseInput(auditQuerySchema, request.query, 'query'),
        );
        return { events: events.map(auditJson), ...(next !== undefined ? { next } : {}) };
      });
    },
    { prefix: '/api/v1' },
  );
}

import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import type { AuditRecord } from '../metadata/access-store.js';
import { RegistryError } from '../oci/errors.js';
import { AdminError } from './admin-error.js';
import { registerProjectRoutes } from './admin-project-routes.js';
import {
  authenticateCaller,
  type Caller,
  type CallerOf,
  deny,
  isoTime,
  isSystemAdmin,
  parseInput,
} from './admin-request.js';
import { registerRobotRoutes } from './admin-robot-routes.js';
import { registerRoleRoutes } from './admin-role-routes.js';
import { registerUserRoutes } from './admin-user-routes.js';

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

/** The metadata store refusing writes (its file was deleted) throws this; it is not the caller's fault. */
function unavailable(error: unknown): error is RegistryError {
  return error instanceof RegistryError && error.kind === 'UNAVAILABLE';
}

/**
 * The admin API, `/api/v1`: users, robots, projects and their members, policy roles, the audit log. JSON
 * in and out, every route behind a login. Only registered when access checks are on: with `auth: none`
 * there is nobody to manage, and the routes answer 404.
 */
export function registerAdminRoutes(app: FastifyInstance, access: AccessService): void {
  app.register(
    async (api) => {
      const callers = new WeakMap<FastifyRequest, Caller>();
      const callerOf: CallerOf = (request) => {
        const caller = callers.get(request);
        if (!caller) throw new AdminError('UNAUTHORIZED', 'authentication required');
        return caller;
      };

      // Before routing, so that an unknown path tells an anonymous caller nothing either.
      api.addHook('onRequest', async (request) => {
        callers.set(request, await authenticateCaller(access, request));
      });

      api.setErrorHandler((error: FastifyError | AdminError, request, reply) => {
        let failure: AdminError;
        if (error instanceof AdminError) failure = error;
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

      api.get('/me', async (request) => {
        const caller = callerOf(request);
        return { name: caller.name, kind: caller.kind, admin: isSystemAdmin(caller) };
      });

      registerUserRoutes(api, access, callerOf);
      registerRobotRoutes(api, access, callerOf);
      registerProjectRoutes(api, access, callerOf);
      registerRoleRoutes(api, access, callerOf);

      api.get('/audit', async (request) => {
        const caller = callerOf(request);
        if (!isSystemAdmin(caller))
          await deny(access, request, caller, 'only system admins read the audit log');
        const query = parseInput(auditQuerySchema, request.query, 'query');
        const events = await access.store.listAudit(query);
        const last = events.at(-1);
        return {
          events: events.map(auditJson),
          ...(events.length === query.limit && last ? { next: last.id } : {}),
        };
      });
    },
    { prefix: '/api/v1' },
  );
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import { type AdminService, isSystemAdmin } from '../access/admin-service.js';
import type { HealthReports } from '../events/health-reports.js';
import { AdminError } from './admin-error.js';
import { type CallOf, parseInput, projectNameSchema } from './admin-request.js';

const reportQuerySchema = z
  .object({
    project: projectNameSchema.optional(),
    // Pushes and pulls are counted over this many days (a quarter by default).
    days: z.coerce.number().int().min(1).max(3660).default(90),
    // Tags neither pushed nor pulled for this many days are listed as stale.
    staleDays: z.coerce.number().int().min(1).max(3660).default(90),
    months: z.coerce.number().int().min(1).max(60).default(6),
  })
  .strict();

/**
 * `GET /api/v1/report`: the quarterly health check. The whole registry for system admins; one project
 * (`?project=`) for system admins and that project's project-admins.
 */
export function registerReportRoutes(
  api: FastifyInstance,
  access: AccessService,
  admin: AdminService,
  reports: HealthReports,
  callOf: CallOf,
): void {
  api.get('/report', async (request) => {
    const call = callOf(request);
    const query = parseInput(reportQuerySchema, request.query, 'query');
    if (query.project === undefined) {
      if (!isSystemAdmin(call.caller)) {
        await access.audit({
          actor: call.caller.name,
          actorKind: call.caller.kind,
          source: call.source,
          event: 'access.denied',
          detail: { method: call.method, route: call.route },
        });
        throw new AdminError(
          'DENIED',
          "the whole registry's report is for system admins (project admins: ?project=)",
        );
      }
    } else {
      await admin.projects.managed(call, query.project, 'read its report');
    }
    return reports.report({
      project: query.project,
      windowDays: query.days,
      staleDays: query.staleDays,
      months: query.months,
    });
  });
}

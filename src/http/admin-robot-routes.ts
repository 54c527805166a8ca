import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService, NewRobot, RobotAccount } from '../access/admin-service.js';
import { policySchema } from '../access/roles-file.js';
import {
  type CallOf,
  isoTime,
  parseInput,
  pathParam,
  projectNameSchema,
  readJson,
  robotName,
  robotNameSchema,
} from './admin-request.js';

// A robot may live ten years at most: a credential with no end should say so (no expiry), not hide in a number.
const MAX_EXPIRES_IN = 10 * 366 * 86_400;

const isoDateSchema = z
  .string()
  .refine(
    (value) =>
      /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(value) &&
      !Number.isNaN(Date.parse(value)),
    'an ISO 8601 date or date-time, such as 2030-01-31T12:00:00Z',
  );

// Whether `expiresAt` is in the past is the service's to say: it has the clock.
const createRobotSchema = z
  .object({
    name: robotNameSchema,
    description: z.string().max(1024).optional(),
    expiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN).optional(),
    expiresAt: isoDateSchema.optional(),
    permissions: z.array(policySchema).max(100).optional(),
    projects: z.array(projectNameSchema).max(100).optional(),
    actions: z
      .array(z.enum(['pull', 'push', 'delete']))
      .min(1)
      .optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.expiresIn !== undefined && body.expiresAt !== undefined)
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'give expiresIn or expiresAt, not both' });
    if ((body.projects?.length ?? 0) > 0 && body.actions === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['actions'],
        message: 'required with projects: what the robot may do there',
      });
    if ((body.permissions?.length ?? 0) + (body.projects?.length ?? 0) === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['permissions'],
        message: 'at least one permission ({repo, actions}) or project',
      });
  });

async function readNewRobot(request: FastifyRequest): Promise<NewRobot> {
  const body = await readJson(request, createRobotSchema);
  return {
    name: robotName(body.name),
    description: body.description,
    expires:
      body.expiresIn !== undefined
        ? { in: body.expiresIn }
        : body.expiresAt !== undefined
          ? { at: Date.parse(body.expiresAt) }
          : undefined,
    permissions: body.permissions,
    projects: body.projects,
    actions: body.actions,
  };
}

function robotJson(robot: RobotAccount) {
  return {
    name: robot.name,
    description: robot.description,
    permissions: robot.permissions,
    expiresAt: robot.expiresAt === null ? null : isoTime(robot.expiresAt),
    expired: robot.expired,
    createdBy: robot.createdBy,
    createdAt: isoTime(robot.createdAt),
  };
}

/** Robot accounts for CI: scoped, expiring, revocable; their secret is shown once, at creation. */
export function registerRobotRoutes(api: FastifyInstance, admin: AdminService, callOf: CallOf): void {
  const named = (request: FastifyRequest) => () => ({
    name: robotName(parseInput(robotNameSchema, pathParam(request, 'name'), 'name')),
  });

  api.get('/robots', async (request) => ({
    robots: (await admin.robots.list(callOf(request))).map(robotJson),
  }));

  api.post('/robots', async (request, reply) => {
    const { robot, secret } = await admin.robots.create(callOf(request), () => readNewRobot(request));
    return reply.code(201).send({ ...robotJson(robot), secret });
  });

  api.get('/robots/:name', async (request) =>
    robotJson(await admin.robots.get(callOf(request), named(request))),
  );

  api.delete('/robots/:name', async (request, reply) => {
    await admin.robots.revoke(callOf(request), named(request));
    return reply.code(204).send();
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import { generateSecret, hashSecret } from '../access/password-hash.js';
import type { Policy } from '../access/principal.js';
import { policySchema } from '../access/roles-file.js';
import type { RobotRecord } from '../metadata/access-store.js';
import { AdminError } from './admin-error.js';
import {
  type Caller,
  type CallerOf,
  changed,
  deny,
  isoTime,
  isSystemAdmin,
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
    if (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= Date.now())
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'is in the past' });
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

function robotJson(robot: RobotRecord, now: number) {
  return {
    name: robot.name,
    description: robot.description,
    permissions: robot.permissions,
    expiresAt: robot.expiresAt === null ? null : isoTime(robot.expiresAt),
    expired: robot.expiresAt !== null && robot.expiresAt <= now,
    createdBy: robot.createdBy,
    createdAt: isoTime(robot.createdAt),
  };
}

/** Robot accounts for CI: scoped, expiring, revocable; their secret is shown once, at creation. */
export function registerRobotRoutes(api: FastifyInstance, access: AccessService, callerOf: CallerOf): void {
  const store = access.store;

  const requireAdmin = async (request: FastifyRequest): Promise<Caller> => {
    const caller = callerOf(request);
    if (!isSystemAdmin(caller))
      await deny(access, request, caller, 'only system admins manage robot accounts');
    return caller;
  };
  const nameParam = (request: FastifyRequest): string =>
    robotName(parseInput(robotNameSchema, pathParam(request, 'name'), 'name'));

  api.get('/robots', async (request) => {
    await requireAdmin(request);
    return { robots: (await store.listRobots()).map((r) => robotJson(r, access.clock.now())) };
  });

  api.post('/robots', async (request, reply) => {
    const caller = await requireAdmin(request);
    const body = await readJson(request, createRobotSchema);
    const permissions: Policy[] = [...(body.permissions ?? [])];
    for (const [index, project] of (body.projects ?? []).entries()) {
      if (!(await store.getProject(project)))
        throw new AdminError('INVALID', `projects.${index}: no project named "${project}"`);
      // A project is shorthand for everything under it.
      permissions.push({ repo: `${project}/**`, actions: body.actions ?? [] });
    }
    const now = access.clock.now();
    const secret = generateSecret();
    const robot: RobotRecord = {
      name: robotName(body.name),
      secretHash: await hashSecret(secret),
      permissions,
      description: body.description ?? '',
      expiresAt:
        body.expiresIn !== undefined
          ? now + body.expiresIn * 1000
          : body.expiresAt !== undefined
            ? Date.parse(body.expiresAt)
            : null,
      createdBy: caller.name,
      createdAt: now,
    };
    if (!(await store.createRobot(robot))) throw new AdminError('CONFLICT', `robot "${robot.name}" exists`);
    await changed(access, request, caller, 'robot.created', {
      robot: robot.name,
      permissions,
      expiresAt: robot.expiresAt === null ? null : isoTime(robot.expiresAt),
    });
    return reply.code(201).send({ ...robotJson(robot, now), secret });
  });

  api.get('/robots/:name', async (request) => {
    await requireAdmin(request);
    const name = nameParam(request);
    const robot = await store.getRobot(name);
    if (!robot) throw new AdminError('NOT_FOUND', `no robot named "${name}"`);
    return robotJson(robot, access.clock.now());
  });

  api.delete('/robots/:name', async (request, reply) => {
    const caller = await requireAdmin(request);
    const name = nameParam(request);
    if (!(await store.deleteRobot(name))) throw new AdminError('NOT_FOUND', `no robot named "${name}"`);
    await changed(access, request, caller, 'robot.revoked', { robot: name });
    return reply.code(204).send();
  });
}

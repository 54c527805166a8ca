import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH } from '../access/admin-account.js';
import type { AdminService, UserAccount } from '../access/admin-service.js';
import {
  type CallOf,
  isoTime,
  parseInput,
  passwordSchema,
  pathParam,
  readJson,
  userNameSchema,
} from './admin-request.js';

const createUserSchema = z
  .object({
    name: userNameSchema,
    password: passwordSchema.optional(),
    admin: z.boolean().optional(),
  })
  .strict();

const passwordChangeSchema = z
  .object({ password: passwordSchema, currentPassword: z.string().max(PASSWORD_MAX_LENGTH).optional() })
  .strict();

const adminFlagSchema = z.object({ admin: z.boolean() }).strict();

function userJson(user: UserAccount) {
  return { name: user.name, admin: user.admin, createdAt: isoTime(user.createdAt) };
}

/** Users: system admins manage them; a user may read their own record and change their own password. */
export function registerUserRoutes(api: FastifyInstance, admin: AdminService, callOf: CallOf): void {
  const nameOf = (request: Parameters<CallOf>[0]) =>
    parseInput(userNameSchema, pathParam(request, 'name'), 'name');

  api.get('/users', async (request) => ({
    users: (await admin.users.list(callOf(request))).map(userJson),
  }));

  api.post('/users', async (request, reply) => {
    const { user, generatedPassword } = await admin.users.create(callOf(request), () =>
      readJson(request, createUserSchema),
    );
    return reply.code(201).send({
      ...userJson(user),
      ...(generatedPassword !== undefined ? { password: generatedPassword } : {}),
    });
  });

  api.get('/users/:name', async (request) =>
    userJson(await admin.users.get(callOf(request), nameOf(request))),
  );

  api.delete('/users/:name', async (request, reply) => {
    await admin.users.delete(callOf(request), () => ({ name: nameOf(request) }));
    return reply.code(204).send();
  });

  api.put('/users/:name/password', async (request, reply) => {
    await admin.users.changePassword(callOf(request), nameOf(request), () =>
      readJson(request, passwordChangeSchema),
    );
    return reply.code(204).send();
  });

  api.put('/users/:name/admin', async (request) => {
    const user = await admin.users.setAdmin(callOf(request), async () => {
      const name = nameOf(request);
      return { name, admin: (await readJson(request, adminFlagSchema)).admin };
    });
    return userJson(user);
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type AccessService, AuthenticationError } from '../access/access-service.js';
import { PASSWORD_MAX_LENGTH } from '../access/admin-account.js';
import { generateSecret, hashSecret } from '../access/password-hash.js';
import type { UserRecord } from '../metadata/access-store.js';
import { AdminError } from './admin-error.js';
import {
  type Caller,
  type CallerOf,
  changed,
  deny,
  isoTime,
  isSystemAdmin,
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

/** A user as the API shows it: never the password hash. */
function userJson(user: UserRecord) {
  return { name: user.name, admin: user.admin, createdAt: isoTime(user.createdAt) };
}

/** Users: system admins manage them; a user may read their own record and change their own password. */
export function registerUserRoutes(api: FastifyInstance, access: AccessService, callerOf: CallerOf): void {
  const store = access.store;

  const requireAdmin = async (request: FastifyRequest): Promise<Caller> => {
    const caller = callerOf(request);
    if (!isSystemAdmin(caller)) await deny(access, request, caller, 'only system admins manage users');
    return caller;
  };
  const existing = async (name: string): Promise<UserRecord> => {
    const user = await store.getUser(name);
    if (!user) throw new AdminError('NOT_FOUND', `no user named "${name}"`);
    return user;
  };
  // Nobody could manage Berth any more without one: the last admin stays.
  const keepOneAdmin = async (user: UserRecord, doing: string): Promise<void> => {
    if (!user.admin) return;
    const admins = (await store.listUsers()).filter((u) => u.admin);
    if (admins.length <= 1)
      throw new AdminError('CONFLICT', `cannot ${doing} "${user.name}": it is the last system admin`);
  };

  api.get('/users', async (request) => {
    await requireAdmin(request);
    return { users: (await store.listUsers()).map(userJson) };
  });

  api.post('/users', async (request, reply) => {
    const caller = await requireAdmin(request);
    const body = await readJson(request, createUserSchema);
    // Generated when not given, and shown in this answer only: the store keeps the hash.
    const password = body.password ?? generateSecret();
    const user: UserRecord = {
      name: body.name,
      passwordHash: await hashSecret(password),
      admin: body.admin ?? false,
      createdAt: access.clock.now(),
    };
    if (!(await store.createUser(user))) throw new AdminError('CONFLICT', `user "${body.name}" exists`);
    await changed(access, request, caller, 'user.created', { user: user.name, admin: user.admin });
    return reply.code(201).send({ ...userJson(user), ...(body.password === undefined ? { password } : {}) });
  });

  api.get('/users/:name', async (request) => {
    const caller = callerOf(request);
    const name = parseInput(userNameSchema, pathParam(request, 'name'), 'name');
    const self = caller.kind === 'user' && caller.name === name;
    if (!self && !isSystemAdmin(caller))
      await deny(access, request, caller, 'only system admins read other users');
    return userJson(await existing(name));
  });

  api.delete('/users/:name', async (request, reply) => {
    const caller = await requireAdmin(request);
    const name = parseInput(userNameSchema, pathParam(request, 'name'), 'name');
    await keepOneAdmin(await existing(name), 'delete');
    if (!(await store.deleteUser(name))) throw new AdminError('NOT_FOUND', `no user named "${name}"`);
    await changed(access, request, caller, 'user.deleted', { user: name });
    return reply.code(204).send();
  });

  api.put('/users/:name/password', async (request, reply) => {
    const caller = callerOf(request);
    const name = parseInput(userNameSchema, pathParam(request, 'name'), 'name');
    const self = caller.kind === 'user' && caller.name === name;
    if (!self && !isSystemAdmin(caller))
      await deny(access, request, caller, "only system admins change other users' passwords");
    const body = await readJson(request, passwordChangeSchema);
    if (self) {
      // A stolen token or an unlocked screen must not be enough to take the account over, an admin's least
      // of all: whoever changes their own password proves the current one. An admin resetting another's does not.
      if (body.currentPassword === undefined)
        throw new AdminError('INVALID', 'currentPassword: required to change your own password');
      try {
        await access.login(name, body.currentPassword, request.ip);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        if (error.reason === 'rate_limited') throw new AdminError('TOOMANYREQUESTS', error.message);
        throw new AdminError('DENIED', 'currentPassword: wrong password');
      }
    }
    await existing(name);
    await store.updateUser(name, { passwordHash: await hashSecret(body.password) });
    await changed(access, request, caller, 'user.password_changed', { user: name });
    return reply.code(204).send();
  });

  api.put('/users/:name/admin', async (request) => {
    const caller = await requireAdmin(request);
    const name = parseInput(userNameSchema, pathParam(request, 'name'), 'name');
    const body = await readJson(request, adminFlagSchema);
    const user = await existing(name);
    if (!body.admin) await keepOneAdmin(user, 'demote');
    await store.updateUser(name, { admin: body.admin });
    await changed(access, request, caller, 'user.admin_changed', { user: name, admin: body.admin });
    return userJson({ ...user, admin: body.admin });
  });
}

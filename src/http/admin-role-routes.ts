import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import { policySchema } from '../access/roles-file.js';
import type { PolicyRoleRecord } from '../metadata/access-store.js';
import { AdminError } from './admin-error.js';
import {
  type Caller,
  type CallerOf,
  changed,
  deny,
  isoTime,
  isSystemAdmin,
  parseInput,
  parseSubject,
  pathParam,
  readJson,
  roleNameSchema,
} from './admin-request.js';

// One role of the roles file, as JSON: `{policies: [{repo, actions}]}`, the name coming from the path (when
// repeated in the body it must agree).
const putRoleSchema = z
  .object({ name: z.string().optional(), policies: z.array(policySchema).max(1000) })
  .strict();

function roleJson(role: PolicyRoleRecord) {
  return {
    name: role.name,
    policies: role.policies,
    bindings: role.bindings.map((b) => ({ kind: b.subjectKind, subject: b.subject })),
    createdAt: isoTime(role.createdAt),
  };
}

/** Policy roles (repository globs and actions) and who is bound to them: system admins only. */
export function registerRoleRoutes(api: FastifyInstance, access: AccessService, callerOf: CallerOf): void {
  const store = access.store;

  const requireAdmin = async (request: FastifyRequest): Promise<Caller> => {
    const caller = callerOf(request);
    if (!isSystemAdmin(caller)) await deny(access, request, caller, 'only system admins manage roles');
    return caller;
  };
  const nameParam = (request: FastifyRequest): string =>
    parseInput(roleNameSchema, pathParam(request, 'name'), 'name');
  const existing = async (name: string): Promise<PolicyRoleRecord> => {
    const role = await store.getRole(name);
    if (!role) throw new AdminError('NOT_FOUND', `no role named "${name}"`);
    return role;
  };

  api.get('/roles', async (request) => {
    await requireAdmin(request);
    return { roles: (await store.listRoles()).map(roleJson) };
  });

  api.get('/roles/:name', async (request) => {
    await requireAdmin(request);
    return roleJson(await existing(nameParam(request)));
  });

  api.put('/roles/:name', async (request, reply) => {
    const caller = await requireAdmin(request);
    const name = nameParam(request);
    const body = await readJson(request, putRoleSchema);
    if (body.name !== undefined && body.name !== name)
      throw new AdminError('INVALID', `name: "${body.name}" differs from the role in the path, "${name}"`);
    const created = (await store.getRole(name)) === undefined;
    await store.putRole(name, body.policies, access.clock.now());
    await changed(access, request, caller, 'role.put', { role: name, policies: body.policies });
    return reply.code(created ? 201 : 200).send(roleJson(await existing(name)));
  });

  api.delete('/roles/:name', async (request, reply) => {
    const caller = await requireAdmin(request);
    const name = nameParam(request);
    if (!(await store.deleteRole(name))) throw new AdminError('NOT_FOUND', `no role named "${name}"`);
    await changed(access, request, caller, 'role.deleted', { role: name });
    return reply.code(204).send();
  });

  api.put('/roles/:name/bindings/:kind/:subject', async (request) => {
    const caller = await requireAdmin(request);
    const name = nameParam(request);
    const { kind, subject } = parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject'));
    await existing(name);
    const exists = kind === 'user' ? await store.getUser(subject) : await store.getRobot(subject);
    if (!exists) throw new AdminError('NOT_FOUND', `no ${kind} named "${subject}"`);
    await store.bindRole(name, kind, subject);
    await changed(access, request, caller, 'role.bound', { role: name, kind, subject });
    return { role: name, kind, subject };
  });

  api.delete('/roles/:name/bindings/:kind/:subject', async (request, reply) => {
    const caller = await requireAdmin(request);
    const name = nameParam(request);
    const { kind, subject } = parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject'));
    if (!(await store.unbindRole(name, kind, subject)))
      throw new AdminError('NOT_FOUND', `${kind} "${subject}" is not bound to role "${name}"`);
    await changed(access, request, caller, 'role.unbound', { role: name, kind, subject });
    return reply.code(204).send();
  });
}

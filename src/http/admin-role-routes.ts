import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService, PolicyRole } from '../access/admin-service.js';
import { policySchema } from '../access/roles-file.js';
import { AdminError } from './admin-error.js';
import {
  type CallOf,
  isoTime,
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

function roleJson(role: PolicyRole) {
  return {
    name: role.name,
    policies: role.policies,
    bindings: role.bindings.map((b) => ({ kind: b.subjectKind, subject: b.subject })),
    createdAt: isoTime(role.createdAt),
  };
}

/** Policy roles (repository globs and actions) and who is bound to them: system admins only. */
export function registerRoleRoutes(api: FastifyInstance, admin: AdminService, callOf: CallOf): void {
  const nameOf = (request: FastifyRequest): string =>
    parseInput(roleNameSchema, pathParam(request, 'name'), 'name');
  const bindingOf = (request: FastifyRequest) => () => ({
    role: nameOf(request),
    ...parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject')),
  });

  api.get('/roles', async (request) => ({ roles: (await admin.roles.list(callOf(request))).map(roleJson) }));

  api.get('/roles/:name', async (request) =>
    roleJson(await admin.roles.get(callOf(request), () => ({ name: nameOf(request) }))),
  );

  api.put('/roles/:name', async (request, reply) => {
    const { role, created } = await admin.roles.put(callOf(request), async () => {
      const name = nameOf(request);
      const body = await readJson(request, putRoleSchema);
      if (body.name !== undefined && body.name !== name)
        throw new AdminError('INVALID', `name: "${body.name}" differs from the role in the path, "${name}"`);
      return { name, policies: body.policies };
    });
    return reply.code(created ? 201 : 200).send(roleJson(role));
  });

  api.delete('/roles/:name', async (request, reply) => {
    await admin.roles.delete(callOf(request), () => ({ name: nameOf(request) }));
    return reply.code(204).send();
  });

  api.put('/roles/:name/bindings/:kind/:subject', async (request) =>
    admin.roles.bind(callOf(request), bindingOf(request)),
  );

  api.delete('/roles/:name/bindings/:kind/:subject', async (request, reply) => {
    await admin.roles.unbind(callOf(request), bindingOf(request));
    return reply.code(204).send();
  });
}

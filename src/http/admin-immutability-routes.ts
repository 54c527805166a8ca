import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService, ImmutabilityRule } from '../access/admin-service.js';
import type { ImmutabilityAdmin } from '../access/immutability-admin.js';
import { isValidGlob } from '../access/repository-glob.js';
import { isValidTagPattern } from '../registry/tag-immutability-guard.js';
import { type CallOf, isoTime, parseInput, pathParam, projectNameSchema, readJson } from './admin-request.js';

const ruleSchema = z
  .object({
    repository: z.string().refine(isValidGlob, 'a repository glob: lowercase path characters, / and *'),
    tag: z.string().refine(isValidTagPattern, 'a tag pattern: tag characters, * and ?, at most 128'),
    kind: z.enum(['include', 'exclude']).default('include'),
  })
  .strict();

const idSchema = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

function ruleJson(rule: ImmutabilityRule) {
  return {
    id: rule.id,
    project: rule.project,
    repository: rule.repository,
    tag: rule.tag,
    kind: rule.kind,
    createdAt: isoTime(rule.createdAt),
  };
}

/** `/projects/{project}/immutability`: a project's tag immutability rules. */
export function registerImmutabilityRoutes(api: FastifyInstance, admin: AdminService, callOf: CallOf): void {
  const rules: ImmutabilityAdmin | undefined = admin.immutability;
  if (!rules) return;
  const projectOf = (request: FastifyRequest): string =>
    parseInput(projectNameSchema, pathParam(request, 'name'), 'name');

  api.get('/projects/:name/immutability', async (request) => ({
    rules: (await rules.list(callOf(request), projectOf(request))).map(ruleJson),
  }));

  api.post('/projects/:name/immutability', async (request, reply) => {
    const rule = await rules.add(callOf(request), projectOf(request), () => readJson(request, ruleSchema));
    return reply.code(201).send(ruleJson(rule));
  });

  api.delete('/projects/:name/immutability/:id', async (request, reply) => {
    await rules.remove(callOf(request), projectOf(request), () =>
      parseInput(idSchema, pathParam(request, 'id'), 'id'),
    );
    return reply.code(204).send();
  });
}

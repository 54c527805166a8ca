import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TrustAdmin, TrustRuleRecord } from '../access/trust-admin.js';
import { AdminError } from './admin-error.js';
import { type CallOf, isoTime, parseInput, pathParam, projectNameSchema, readJson } from './admin-request.js';

// A P-256 public key PEM is under 200 characters; the bound leaves room for comments and line endings.
const addRuleSchema = z
  .object({ repository: z.string().min(1).max(256), publicKey: z.string().min(1).max(8192) })
  .strict();
const idSchema = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

function ruleJson(rule: TrustRuleRecord) {
  return {
    id: rule.id,
    project: rule.project,
    repository: rule.repositoryGlob,
    publicKey: rule.publicKey,
    createdAt: isoTime(rule.createdAt),
  };
}

/** `/api/v1/projects/:name/trust`: a project's trust rules (repository glob -> required signing key). */
export function registerTrustRoutes(api: FastifyInstance, trust: TrustAdmin, callOf: CallOf): void {
  const nameOf = (request: FastifyRequest): string =>
    parseInput(projectNameSchema, pathParam(request, 'name'), 'name');

  api.get('/projects/:name/trust', async (request) => ({
    rules: (await trust.list(callOf(request), nameOf(request))).map(ruleJson),
  }));

  api.post('/projects/:name/trust', async (request, reply) => {
    const rule = await trust.add(callOf(request), nameOf(request), () => readJson(request, addRuleSchema));
    return reply.code(201).send(ruleJson(rule));
  });

  api.delete('/projects/:name/trust/:id', async (request, reply) => {
    const id = parseInput(idSchema, pathParam(request, 'id'), 'id');
    if (!(await trust.remove(callOf(request), nameOf(request), id)))
      throw new AdminError('NOT_FOUND', `project ${nameOf(request)} has no trust rule ${id}`);
    return reply.code(204).send();
  });
}

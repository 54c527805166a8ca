import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdmissionAdmin, AdmissionPolicyRecord } from '../access/admission-admin.js';
import { AdminError } from './admin-error.js';
import { type CallOf, isoTime, parseInput, pathParam, projectNameSchema, readJson } from './admin-request.js';

// A policy file is a page of YAML; the admin body limit bounds the request as a whole.
const MAX_POLICY_CHARS = 64 * 1024;
const setPolicySchema = z.object({ policy: z.string().min(1).max(MAX_POLICY_CHARS) }).strict();

function policyJson(record: AdmissionPolicyRecord) {
  return {
    project: record.project,
    policy: record.policy,
    updatedAt: isoTime(record.updatedAt),
    updatedBy: record.updatedBy,
  };
}

/** `/api/v1/projects/:name/admission`: a project's admission policy (the `berth lint --policy` YAML). */
export function registerAdmissionRoutes(
  api: FastifyInstance,
  admission: AdmissionAdmin,
  callOf: CallOf,
): void {
  const nameOf = (request: FastifyRequest): string =>
    parseInput(projectNameSchema, pathParam(request, 'name'), 'name');

  api.get('/projects/:name/admission', async (request) => {
    const record = await admission.show(callOf(request), nameOf(request));
    if (!record) throw new AdminError('NOT_FOUND', `project ${nameOf(request)} has no admission policy`);
    return policyJson(record);
  });

  api.put('/projects/:name/admission', async (request) => {
    const record = await admission.set(callOf(request), nameOf(request), () =>
      readJson(request, setPolicySchema),
    );
    return policyJson(record);
  });

  api.delete('/projects/:name/admission', async (request, reply) => {
    if (!(await admission.remove(callOf(request), nameOf(request))))
      throw new AdminError('NOT_FOUND', `project ${nameOf(request)} has no admission policy`);
    return reply.code(204).send();
  });
}

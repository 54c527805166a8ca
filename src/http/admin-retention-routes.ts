import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService } from '../access/admin-service.js';
import type { RetentionJobs } from '../jobs/retention-jobs.js';
import type { RetentionRunRecord } from '../jobs/retention-run.js';
import { BerthError } from '../oci/errors.js';
import { AdminError } from './admin-error.js';
import { type CallOf, isoTime, parseInput, pathParam, projectNameSchema, readJson } from './admin-request.js';

// The policy itself is checked by the policy module (`checkRetentionPolicy`), whose messages name the field.
const setPolicySchema = z.object({ policy: z.record(z.string(), z.unknown()) }).strict();
const runSchema = z.object({ dryRun: z.boolean().optional(), force: z.boolean().optional() }).strict();
const historySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  before: z.coerce.number().int().min(1).optional(),
});

function runJson(run: RetentionRunRecord, withResult: boolean) {
  return {
    id: run.id,
    project: run.project,
    startedAt: isoTime(run.startedAt),
    finishedAt: isoTime(run.finishedAt),
    trigger: run.trigger,
    actor: run.actor,
    dryRun: run.dryRun,
    forced: run.forced,
    status: run.status,
    deletedTags: run.deletedTags,
    deletedManifests: run.deletedManifests,
    bytesFreed: run.bytesFreed,
    ...(withResult ? { result: run.result } : {}),
  };
}

/** A policy the policy module refuses is the caller's mistake: 400 with the module's message. */
async function asInvalid<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof BerthError && error.code === 'POLICY_INVALID')
      throw new AdminError('INVALID', error.message);
    throw error;
  }
}

/**
 * `/api/v1/projects/{project}/retention` (+ `/runs`): the project's retention policy and its runs. Members read
 * the policy and the history; system admins and the project's project-admins set it and run it.
 */
export function registerRetentionRoutes(
  api: FastifyInstance,
  admin: AdminService,
  retention: RetentionJobs,
  callOf: CallOf,
): void {
  const nameOf = (request: FastifyRequest): string =>
    parseInput(projectNameSchema, pathParam(request, 'name'), 'name');

  api.get('/projects/:name/retention', async (request) => {
    const project = await admin.projects.joined(
      callOf(request),
      nameOf(request),
      'read its retention policy',
    );
    const { record, policy, nextRun } = await retention.policy(project.name);
    return {
      project: project.name,
      policy,
      updatedAt: isoTime(record.updatedAt),
      updatedBy: record.updatedBy,
      ...(nextRun ? { nextRun: nextRun.toISOString() } : {}),
    };
  });

  api.put('/projects/:name/retention', async (request) => {
    const call = callOf(request);
    const project = await admin.projects.managed(call, nameOf(request), 'set its retention policy');
    const body = await readJson(request, setPolicySchema);
    const policy = await asInvalid(() => retention.setPolicy(project.name, body.policy, call.caller.name));
    await admin.projects.recordChange(call, 'retention.policy.set', { project: project.name, policy });
    return { project: project.name, policy };
  });

  api.delete('/projects/:name/retention', async (request, reply) => {
    const call = callOf(request);
    const project = await admin.projects.managed(call, nameOf(request), 'remove its retention policy');
    if (!(await retention.deletePolicy(project.name)))
      throw new AdminError('NOT_FOUND', `project "${project.name}" has no retention policy`);
    await admin.projects.recordChange(call, 'retention.policy.removed', { project: project.name });
    return reply.code(204).send();
  });

  api.post('/projects/:name/retention/runs', async (request, reply) => {
    const call = callOf(request);
    const project = await admin.projects.managed(call, nameOf(request), 'run retention');
    const body = await readJson(request, runSchema);
    const run = await retention.run({
      project: project.name,
      dryRun: body.dryRun ?? false,
      force: body.force ?? false,
      trigger: 'manual',
      actor: call.caller.name,
    });
    if (!run.dryRun)
      await admin.projects.recordChange(call, 'retention.run', {
        project: project.name,
        run: run.id,
        forced: run.forced,
        deletedTags: run.deletedTags,
        deletedManifests: run.deletedManifests,
      });
    return reply.code(201).send(runJson(run, true));
  });

  api.get('/projects/:name/retention/runs', async (request) => {
    const project = await admin.projects.joined(callOf(request), nameOf(request), 'read its retention runs');
    const query = parseInput(historySchema, request.query, 'query');
    const runs = await retention.history(project.name, query.limit, query.before);
    const last = runs.at(-1);
    return {
      runs: runs.map((run) => runJson(run, false)),
      ...(runs.length === query.limit && last ? { next: last.id } : {}),
    };
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import { isSystemAdmin } from '../access/admin-service.js';
import type { GcRunRecord, GcService } from '../jobs/gc.js';
import { formatDuration, parseDuration } from '../oci/duration.js';
import { AdminError } from './admin-error.js';
import { type CallOf, isoTime, parseInput, pathParam, readJson } from './admin-request.js';

const startSchema = z
  .object({
    dryRun: z.boolean().default(false),
    untagged: z.boolean().default(false),
    // A duration (`1h`, `30m`, `0s`); the configured gc.grace when absent.
    grace: z.string().min(1).max(32).optional(),
  })
  .strict();

const historySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  before: z.coerce.number().int().min(1).optional(),
});

const runIdSchema = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A run as the API and `berth gc --json` show it. */
export function gcRunJson(run: GcRunRecord) {
  return {
    id: run.id,
    status: run.status,
    trigger: run.trigger,
    dryRun: run.dryRun,
    untagged: run.untagged,
    grace: formatDuration(run.graceMs),
    cutoff: isoTime(run.cutoff),
    startedAt: isoTime(run.startedAt),
    ...(run.finishedAt !== undefined ? { finishedAt: isoTime(run.finishedAt) } : {}),
    blobsExamined: run.blobsExamined,
    bytesExamined: run.bytesExamined,
    blobsFreed: run.blobsFreed,
    bytesFreed: run.bytesFreed,
    manifestsFreed: run.manifestsFreed,
    uploadsPurged: run.uploadsPurged,
    ...(run.error !== undefined ? { error: run.error } : {}),
  };
}

/** `/api/v1/gc`: start a run, its status, cancel it, the history. System admins only. */
export function registerGcRoutes(
  api: FastifyInstance,
  gc: GcService,
  access: AccessService,
  callOf: CallOf,
): void {
  const requireAdmin = async (request: FastifyRequest): Promise<ReturnType<CallOf>> => {
    const call = callOf(request);
    if (!isSystemAdmin(call.caller)) {
      await access.audit({
        actor: call.caller.name,
        actorKind: call.caller.kind,
        source: call.source,
        event: 'access.denied',
        detail: { method: call.method, route: call.route },
      });
      throw new AdminError('DENIED', 'garbage collection is for system administrators');
    }
    return call;
  };

  api.post('/gc', async (request, reply) => {
    const call = await requireAdmin(request);
    const body = await readJson(request, startSchema);
    let graceMs = gc.defaultGraceMs;
    if (body.grace !== undefined) {
      try {
        graceMs = parseDuration(body.grace);
      } catch (error) {
        throw new AdminError('INVALID', `grace: ${(error as Error).message}`);
      }
    }
    const run = await gc.start({ dryRun: body.dryRun, untagged: body.untagged, graceMs, trigger: 'manual' });
    await access.audit({
      actor: call.caller.name,
      actorKind: call.caller.kind,
      source: call.source,
      event: 'gc.started',
      detail: { run: run.id, dryRun: run.dryRun, untagged: run.untagged, graceMs },
    });
    return reply.code(202).send(gcRunJson(run));
  });

  api.get('/gc', async (request) => {
    await requireAdmin(request);
    const run = await gc.status();
    return { run: run ? gcRunJson(run) : null };
  });

  api.get('/gc/history', async (request) => {
    await requireAdmin(request);
    const query = parseInput(historySchema, request.query, 'query');
    const runs = await gc.history(query.limit, query.before);
    return { runs: runs.map(gcRunJson) };
  });

  api.get('/gc/:id', async (request) => {
    await requireAdmin(request);
    const id = parseInput(runIdSchema, pathParam(request, 'id'), 'id');
    const run = await gc.run(id);
    if (!run) throw new AdminError('NOT_FOUND', `no garbage collection run ${id}`);
    return gcRunJson(run);
  });

  api.post('/gc/cancel', async (request) => {
    const call = await requireAdmin(request);
    const cancelled = await gc.cancel();
    if (cancelled) {
      await access.audit({
        actor: call.caller.name,
        actorKind: call.caller.kind,
        source: call.source,
        event: 'gc.cancelled',
        detail: {},
      });
    }
    return { cancelled };
  });
}

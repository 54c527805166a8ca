import { z } from 'zod';
import { BerthError } from '../oci/errors.js';
import type { AdminApi } from './admin-api.js';

const unavailable = z.object({ available: z.literal(false), reason: z.string() });
const count = z.number().int().nonnegative();

/** `/api/v1/report` as the server answers it, parsed before anything is printed from it. */
const healthReportSchema = z.object({
  generatedAt: z.string(),
  project: z.string().nullable(),
  windowDays: count,
  storage: z.object({
    totalBytes: count,
    blobs: count,
    months: z.array(z.object({ month: z.string(), addedBytes: count, totalBytes: count })).max(120),
    growthRatio: z.number().nullable(),
    source: z.string(),
  }),
  topBySize: z.array(z.object({ repository: z.string(), bytes: count })).max(1000),
  pulls: z.union([
    z.object({
      available: z.literal(true),
      total: count,
      top: z.array(z.object({ repository: z.string(), pulls: count })).max(1000),
    }),
    unavailable,
  ]),
  stale: z.object({
    days: count,
    count,
    partial: z.boolean(),
    tags: z
      .array(
        z.object({
          repository: z.string(),
          tag: z.string(),
          digest: z.string(),
          pushedAt: z.string(),
          lastPulledAt: z.string().nullable(),
        }),
      )
      .max(10_000),
    source: z.string(),
  }),
  pushes: z.object({
    succeeded: count.nullable(),
    refused: count,
    byRepository: z
      .array(z.object({ repository: z.string(), succeeded: count.nullable(), refused: count }))
      .max(1000),
    source: z.string(),
  }),
  vulnerabilities: unavailable,
});

export type HealthReportJson = z.infer<typeof healthReportSchema>;

export interface HealthReportRequest {
  project?: string | undefined;
  /** Pushes and pulls over this many days (the server's default: 90). */
  days?: number | undefined;
  staleDays?: number | undefined;
  months?: number | undefined;
}

/** The quarterly health check of the whole registry (system admins) or one project (its project-admins). */
export async function fetchHealthReport(
  api: AdminApi,
  request: HealthReportRequest,
): Promise<HealthReportJson> {
  const params = new URLSearchParams();
  if (request.project !== undefined) params.set('project', request.project);
  if (request.days !== undefined) params.set('days', String(request.days));
  if (request.staleDays !== undefined) params.set('staleDays', String(request.staleDays));
  if (request.months !== undefined) params.set('months', String(request.months));
  const query = params.toString();
  const answer = await api.request<unknown>('GET', `report${query ? `?${query}` : ''}`);
  const parsed = healthReportSchema.safeParse(answer);
  if (!parsed.success) {
    throw new BerthError(
      'REGISTRY_ERROR',
      `the server's report is not in the expected form: ${parsed.error.issues[0]?.message}`,
    );
  }
  return parsed.data;
}

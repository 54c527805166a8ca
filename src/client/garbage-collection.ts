import { setTimeout as delay } from 'node:timers/promises';
import type { AdminApi } from './admin-api.js';

/** A garbage collection run as `/api/v1/gc` reports it. */
export interface GcRunJson {
  id: number;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  trigger: string;
  dryRun: boolean;
  untagged: boolean;
  grace: string;
  cutoff: string;
  startedAt: string;
  finishedAt?: string;
  blobsExamined: number;
  bytesExamined: number;
  blobsFreed: number;
  bytesFreed: number;
  manifestsFreed: number;
  uploadsPurged: number;
  error?: string;
}

export interface GcStartRequest {
  dryRun: boolean;
  untagged: boolean;
  /** A duration such as `1h`; the server's gc.grace when absent. */
  grace?: string | undefined;
}

// How often a waiting `berth gc` asks for progress: one small GET, a few times a second at most.
const POLL_MS = 500;

/**
 * Starts a run on the server and, unless `detach`, follows it until it ends, handing each progress report to
 * `onProgress`. Returns the run as it ended (or as it started, detached).
 */
export async function runGarbageCollection(
  api: AdminApi,
  request: GcStartRequest,
  options: { detach?: boolean; onProgress?: (run: GcRunJson) => void; signal?: AbortSignal } = {},
): Promise<GcRunJson> {
  let run = await api.request<GcRunJson>('POST', 'gc', {
    dryRun: request.dryRun,
    untagged: request.untagged,
    ...(request.grace !== undefined ? { grace: request.grace } : {}),
  });
  if (options.detach) return run;
  while (run.status === 'running') {
    options.onProgress?.(run);
    await delay(POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
    run = await api.request<GcRunJson>('GET', `gc/${run.id}`);
  }
  return run;
}

export function gcStatus(api: AdminApi): Promise<{ run: GcRunJson | null }> {
  return api.request('GET', 'gc');
}

export function gcHistory(api: AdminApi, limit: number): Promise<{ runs: GcRunJson[] }> {
  return api.request('GET', `gc/history?limit=${limit}`);
}

export function cancelGc(api: AdminApi): Promise<{ cancelled: boolean }> {
  return api.request('POST', 'gc/cancel', {});
}

import { readFile } from 'node:fs/promises';
import { BerthError } from '../oci/errors.js';
import { parseRetentionPolicy, type RetentionPolicy } from '../policy/retention.js';
import { segment } from './admin-address.js';
import type { AdminApi } from './admin-api.js';

export interface RetentionDecisionJson {
  repository: string;
  tag?: string;
  digest: string;
  action?: 'keep' | 'delete';
  reason: string;
}

export interface RetentionRunJson {
  id: number;
  project: string;
  startedAt: string;
  finishedAt: string;
  trigger: string;
  actor: string;
  dryRun: boolean;
  forced: boolean;
  status: string;
  deletedTags: number;
  deletedManifests: number;
  bytesFreed: number;
  result?: {
    tags: RetentionDecisionJson[];
    untagged: RetentionDecisionJson[];
    refused: { repository: string; reason: string }[];
    skipped: RetentionDecisionJson[];
    keptNotListed?: number;
    error?: string;
  };
}

export interface RetentionPolicyJson {
  project: string;
  policy: RetentionPolicy;
  updatedAt?: string;
  updatedBy?: string;
  nextRun?: string;
}

const base = (project: string): string => `projects/${segment(project)}/retention`;

/** Reads and checks a policy file here, so a mistake names the file before anything is sent. */
export async function readRetentionPolicyFile(path: string): Promise<RetentionPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BerthError('POLICY_INVALID', `${path}: ${(error as Error).message}`);
  }
  try {
    return parseRetentionPolicy(text);
  } catch (error) {
    throw new BerthError('POLICY_INVALID', `${path}: ${(error as Error).message}`);
  }
}

export async function setRetentionPolicy(
  api: AdminApi,
  project: string,
  file: string,
): Promise<RetentionPolicyJson> {
  const policy = await readRetentionPolicyFile(file);
  return api.request<RetentionPolicyJson>('PUT', base(project), { policy });
}

export function getRetentionPolicy(api: AdminApi, project: string): Promise<RetentionPolicyJson> {
  return api.request<RetentionPolicyJson>('GET', base(project));
}

export function removeRetentionPolicy(api: AdminApi, project: string): Promise<unknown> {
  return api.request('DELETE', base(project));
}

export function runRetentionNow(
  api: AdminApi,
  project: string,
  options: { dryRun: boolean; force: boolean },
): Promise<RetentionRunJson> {
  return api.request<RetentionRunJson>('POST', `${base(project)}/runs`, options);
}

export function retentionHistory(
  api: AdminApi,
  project: string,
  limit: number,
): Promise<{ runs: RetentionRunJson[]; next?: number }> {
  return api.request('GET', `${base(project)}/runs?limit=${limit}`);
}

import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type { RetentionRunRecord, RetentionStore, RetentionTagRow } from '../metadata/retention-store.js';
import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { RepoName } from '../oci/names.js';
import {
  checkRetentionPolicy,
  evaluateRetention,
  type TagDecision,
  type UntaggedDecision,
} from '../policy/retention.js';

export type { RetentionRunRecord } from '../metadata/retention-store.js';

/** Whether a tag is immutable (the project's rules, `policy/tag-immutability.ts`): such a tag is always kept. */
export type ImmutableCheck = (repository: RepoName, tag: string) => boolean;

export interface RetentionRunRequest {
  project: string;
  dryRun: boolean;
  force: boolean;
  trigger: 'manual' | 'schedule';
  /** Who asked (`schedule` for the cron). */
  actor: string;
}

export interface RetentionRunContext {
  store: RetentionStore;
  clock: Clock;
  log: Logger;
  /** Absent, no tag is immutable. */
  isImmutable?: ImmutableCheck;
  signal?: AbortSignal;
}

/** What a run stores and answers: the plan (kept, deleted, why) and what was applied. */
export interface RetentionRunResult {
  tags: TagDecision[];
  untagged: UntaggedDecision[];
  refused: { repository: string; reason: string }[];
  /** Planned deletes not done because the tag moved, or the manifest gained a tag or a parent, since the plan. */
  skipped: { repository: string; tag?: string; digest: string; reason: string }[];
  /** Kept tags left out of `tags` past the first MAX_LISTED_KEPT (every delete is always listed). */
  keptNotListed?: number;
  error?: string;
}

/** A run's stored result stays bounded in a project of very many tags: deletes are all listed, kept tags up to this. */
export const MAX_LISTED_KEPT = 10_000;

/**
 * One retention run over a project: reads the policy and the tags, asks `evaluateRetention`, and (unless a dry
 * run) deletes tag by tag and then the expired untagged manifests, each delete guarded in the store against a
 * push in between. Every run, dry or not, is stored. Kept apart from the schedule so a lease can wrap it.
 */
export async function runRetention(
  request: RetentionRunRequest,
  context: RetentionRunContext,
): Promise<RetentionRunRecord> {
  const { store, clock, log } = context;
  const stored = await store.getPolicy(request.project);
  if (!stored) throw new BerthError('NOT_FOUND', `project "${request.project}" has no retention policy`);
  const policy = checkRetentionPolicy(stored.policy);
  const startedAt = clock.now();
  const prefix = `${request.project}/`;
  const inner = (repository: string): string => repository.slice(prefix.length);
  const full = (repository: string): RepoName => `${prefix}${repository}` as RepoName;
  const result: RetentionRunResult = { tags: [], untagged: [], refused: [], skipped: [] };
  let deletedTags = 0;
  let deletedManifests = 0;
  let bytesFreed = 0;
  let status = 'done';
  try {
    const rows = await store.projectTags(request.project);
    const rowOf = new Map<string, RetentionTagRow>(rows.map((r) => [`${r.repository}:${r.tag}`, r]));
    const untagged = await store.untaggedManifests(request.project);
    const immutable = context.isImmutable;
    const plan = evaluateRetention(
      policy,
      rows.map((r) => ({ ...r, repository: inner(r.repository) })),
      startedAt,
      {
        force: request.force,
        ...(immutable ? { isImmutable: (repo: string, tag: string) => immutable(full(repo), tag) } : {}),
      },
      untagged.map((m) => ({ ...m, repository: inner(m.repository) })),
    );
    let kept = 0;
    for (const d of plan.tags) {
      if (d.action === 'keep' && ++kept > MAX_LISTED_KEPT) continue;
      result.tags.push({ ...d, repository: full(d.repository) });
    }
    if (kept > MAX_LISTED_KEPT) result.keptNotListed = kept - MAX_LISTED_KEPT;
    result.untagged = plan.untagged.map((d) => ({ ...d, repository: full(d.repository) }));
    result.refused = plan.refused.map((r) => ({ ...r, repository: full(r.repository) }));
    bytesFreed = plan.bytesFreed;
    if (!request.dryRun) {
      for (const decision of result.tags) {
        if (decision.action !== 'delete') continue;
        context.signal?.throwIfAborted();
        const repository = decision.repository as RepoName;
        const row = rowOf.get(`${repository}:${decision.tag}`);
        if (row && (await store.deleteTagIfAt(repository, decision.tag, row.manifestId))) deletedTags++;
        else
          result.skipped.push({
            repository,
            tag: decision.tag,
            digest: decision.digest,
            reason: 'the tag moved or went since the plan',
          });
      }
      for (const decision of result.untagged) {
        context.signal?.throwIfAborted();
        const repository = decision.repository as RepoName;
        if (await store.deleteUntaggedManifest(repository, decision.digest as Digest)) deletedManifests++;
        else
          result.skipped.push({
            repository,
            digest: decision.digest,
            reason: 'the manifest is tagged or needed again',
          });
      }
    }
  } catch (error) {
    status = 'failed';
    result.error = (error as Error).message;
    log.error({ err: error, project: request.project }, 'retention run failed');
  }
  const run = {
    project: request.project,
    startedAt,
    finishedAt: clock.now(),
    trigger: request.trigger,
    actor: request.actor,
    dryRun: request.dryRun,
    forced: request.force,
    status,
    deletedTags,
    deletedManifests,
    bytesFreed,
    result,
  };
  const id = await store.addRun(run);
  log.info(
    {
      project: request.project,
      dryRun: request.dryRun,
      trigger: request.trigger,
      status,
      deletedTags,
      deletedManifests,
      refused: result.refused.length,
    },
    'retention run finished',
  );
  return { id, ...run };
}

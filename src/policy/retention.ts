/**
 * Retention: which tags and untagged manifests of a project a run deletes, and why. The policy file is YAML
 * (`berth retention set PROJECT --file policy.yaml`), parsed and bounded here; `evaluateRetention` is the pure
 * decision that both the dry run and the real run apply, so the dry run shows exactly what a run would do.
 */
import YAML from 'yaml';
import { z } from 'zod';
import { BerthError } from '../oci/errors.js';
import { pathGlobToRegExp } from './path-glob.js';

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

/** A glob of the policy's grammar (`policy/path-glob.ts`), checked when the file is read. */
const globSchema = z
  .string()
  .min(1)
  .max(256)
  .superRefine((glob, ctx) => {
    try {
      pathGlobToRegExp(glob);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `bad glob "${glob}": ${(error as Error).message}` });
    }
  });

const count = z.number().int().min(1).max(100_000);
const days = z.number().min(0).max(36_500);

const keepSchema = z
  .object({
    mostRecentlyPushed: count.optional(),
    mostRecentlyPulled: count.optional(),
    pushedWithinDays: days.optional(),
    pulledWithinDays: days.optional(),
    tagsMatching: globSchema.optional(),
    always: z.literal(true).optional(),
  })
  .strict()
  .refine((keep) => Object.keys(keep).length > 0, 'a rule keeps something: give at least one keep criterion');

const ruleSchema = z
  .object({
    /** Repository glob, relative to the project (`app`, `team/*`, `**`). */
    repositories: globSchema.default('**'),
    /** Tag glob: which tags this rule looks at. */
    tags: globSchema.default('*'),
    keep: keepSchema,
  })
  .strict();

/** Five cron fields (croner reads them); checked for shape here, for meaning by the scheduler. */
const cronSchema = z
  .string()
  .max(100)
  .regex(/^\s*\S+(\s+\S+){4,5}\s*$/, 'a cron expression has five (or six, with seconds) fields');

export const retentionPolicySchema = z
  .object({
    rules: z.array(ruleSchema).max(100).default([]),
    /** Untagged manifests (no tag, no index or subject needing them) older than this many hours are deleted. */
    untaggedAfterHours: z.number().min(0).max(87_600).optional(),
    /** A run refuses a repository where it would delete more than this share of its tags, unless forced. */
    maxDeleteShare: z.number().min(0).max(1).default(0.5),
    /** When runs happen on their own; without it, only `berth retention run`. */
    schedule: cronSchema.optional(),
  })
  .strict();

export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;
export type RetentionRule = RetentionPolicy['rules'][number];

/** Parses a policy from YAML text (a file or the API's body); `POLICY_INVALID` names the first problem. */
export function parseRetentionPolicy(text: string): RetentionPolicy {
  if (text.length > 256 * 1024) throw new BerthError('POLICY_INVALID', 'retention policy over 256 KiB');
  let raw: unknown;
  try {
    raw = YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new BerthError('POLICY_INVALID', `retention policy is not YAML: ${(error as Error).message}`);
  }
  return checkRetentionPolicy(raw ?? {});
}

/** Checks an already decoded policy (JSON from the API or the database). */
export function checkRetentionPolicy(raw: unknown): RetentionPolicy {
  const parsed = retentionPolicySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'policy';
    throw new BerthError('POLICY_INVALID', `retention policy ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A tag as retention sees it. Times are milliseconds since the epoch. */
export interface RetentionTag {
  /** Repository path inside the project (`app`, not `project/app`). */
  repository: string;
  tag: string;
  digest: string;
  pushedAt: number;
  /** Last pull of the manifest the tag points at; null when never pulled since pulls were recorded. */
  pulledAt: number | null;
  /** Bytes of the image: its manifest and the blobs it references, by digest (for the bytes-freed estimate). */
  manifestSize: number;
  blobs: { digest: string; size: number }[];
}

/** A manifest of the project that no tag points at. */
export interface UntaggedManifest {
  repository: string;
  digest: string;
  createdAt: number;
  /** An index of the repository lists it, or its subject is in the repository: it is not garbage. */
  needed: boolean;
  size: number;
}

export interface TagDecision {
  repository: string;
  tag: string;
  digest: string;
  action: 'keep' | 'delete';
  /** Why, in words: the rule and criterion that keep it, or why nothing does. */
  reason: string;
}

export interface UntaggedDecision {
  repository: string;
  digest: string;
  reason: string;
}

export interface RetentionPlan {
  tags: TagDecision[];
  untagged: UntaggedDecision[];
  /** Repositories where the guards stopped every delete, and why. */
  refused: { repository: string; reason: string }[];
  /** Bytes no remaining tag of the repository references once the deletes are done (garbage collection frees them). */
  bytesFreed: number;
}

export interface RetentionOptions {
  /** Immutable tags are never deleted. */
  isImmutable?: (repository: string, tag: string) => boolean;
  /** Lifts the guards (share of a repository's tags, its last tag). */
  force?: boolean;
}

interface CompiledRule {
  index: number;
  rule: RetentionRule;
  repositories: RegExp;
  tags: RegExp;
  tagsMatching: RegExp | undefined;
}

function compile(policy: RetentionPolicy): CompiledRule[] {
  return policy.rules.map((rule, index) => ({
    index,
    rule,
    repositories: pathGlobToRegExp(rule.repositories),
    tags: pathGlobToRegExp(rule.tags),
    tagsMatching: rule.keep.tagsMatching ? pathGlobToRegExp(rule.keep.tagsMatching) : undefined,
  }));
}

/** Newest first; equal times by tag name so a decision never depends on input order. */
function byNewest(time: (t: RetentionTag) => number | null): (a: RetentionTag, b: RetentionTag) => number {
  return (a, b) => (time(b) ?? -1) - (time(a) ?? -1) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
}

/** Why the rule keeps the tag (the first criterion that does), or undefined. */
function keeps(
  compiled: CompiledRule,
  tag: RetentionTag,
  selected: RetentionTag[],
  now: number,
): string | undefined {
  const { keep } = compiled.rule;
  const name = `rule ${compiled.index + 1}`;
  if (keep.always) return `${name}: always keep`;
  if (compiled.tagsMatching?.test(tag.tag)) return `${name}: tag matches ${keep.tagsMatching}`;
  if (keep.pushedWithinDays !== undefined && now - tag.pushedAt <= keep.pushedWithinDays * DAY)
    return `${name}: pushed within ${keep.pushedWithinDays} days`;
  if (
    keep.pulledWithinDays !== undefined &&
    tag.pulledAt !== null &&
    now - tag.pulledAt <= keep.pulledWithinDays * DAY
  )
    return `${name}: pulled within ${keep.pulledWithinDays} days`;
  if (keep.mostRecentlyPushed !== undefined) {
    const rank = [...selected].sort(byNewest((t) => t.pushedAt)).indexOf(tag);
    if (rank < keep.mostRecentlyPushed)
      return `${name}: among the ${keep.mostRecentlyPushed} most recently pushed`;
  }
  if (keep.mostRecentlyPulled !== undefined && tag.pulledAt !== null) {
    const pulled = selected.filter((t) => t.pulledAt !== null).sort(byNewest((t) => t.pulledAt));
    if (pulled.indexOf(tag) < keep.mostRecentlyPulled)
      return `${name}: among the ${keep.mostRecentlyPulled} most recently pulled`;
  }
  return undefined;
}

/**
 * What a run does with a project's tags and untagged manifests at `now`. A tag no rule selects is kept: a
 * policy deletes only among what it names. A selected tag is deleted when none of the rules selecting it keeps
 * it, unless it is immutable. Deletes are per tag: another tag on the same digest stays. Per repository, the
 * guards refuse every delete when more than `maxDeleteShare` of its tags, or its last tag, would go (unless
 * forced). Ranks ("N most recently pushed") count among the tags of one repository that the rule selects.
 */
export function evaluateRetention(
  policy: RetentionPolicy,
  tags: RetentionTag[],
  now: number,
  options: RetentionOptions = {},
  untagged: UntaggedManifest[] = [],
): RetentionPlan {
  const rules = compile(policy);
  const byRepository = new Map<string, RetentionTag[]>();
  for (const tag of tags) {
    const list = byRepository.get(tag.repository) ?? [];
    list.push(tag);
    byRepository.set(tag.repository, list);
  }
  const decisions: TagDecision[] = [];
  const refused: RetentionPlan['refused'] = [];
  let bytesFreed = 0;
  for (const repository of [...byRepository.keys()].sort()) {
    const repoTags = (byRepository.get(repository) ?? []).sort((a, b) => (a.tag < b.tag ? -1 : 1));
    const applying = rules.filter((r) => r.repositories.test(repository));
    const selectedBy = new Map(applying.map((r) => [r, repoTags.filter((t) => r.tags.test(t.tag))]));
    const planned: TagDecision[] = repoTags.map((tag) => {
      const base = { repository, tag: tag.tag, digest: tag.digest };
      if (options.isImmutable?.(repository, tag.tag)) return { ...base, action: 'keep', reason: 'immutable' };
      const selecting = applying.filter((r) => selectedBy.get(r)?.includes(tag));
      if (selecting.length === 0) return { ...base, action: 'keep', reason: 'no rule selects it' };
      for (const rule of selecting) {
        const why = keeps(rule, tag, selectedBy.get(rule) ?? [], now);
        if (why) return { ...base, action: 'keep', reason: why };
      }
      const names = selecting.map((r) => r.index + 1).join(', ');
      return { ...base, action: 'delete', reason: `no keep criterion of rule ${names} holds` };
    });
    const deletes = planned.filter((d) => d.action === 'delete').length;
    let guard: string | undefined;
    if (deletes > 0 && !options.force) {
      if (deletes === repoTags.length) guard = `guard: would delete every tag (${deletes}); --force to allow`;
      else if (deletes / repoTags.length > policy.maxDeleteShare)
        guard = `guard: would delete ${deletes} of ${repoTags.length} tags, over ${Math.round(policy.maxDeleteShare * 100)}%; --force to allow`;
    }
    if (guard) {
      refused.push({ repository, reason: guard });
      for (const d of planned) if (d.action === 'delete') Object.assign(d, { action: 'keep', reason: guard });
    }
    decisions.push(...planned);
    bytesFreed += freedBytes(repoTags, planned);
  }
  const untaggedDecisions: UntaggedDecision[] = [];
  const after = policy.untaggedAfterHours;
  if (after !== undefined) {
    for (const m of [...untagged].sort((a, b) =>
      a.repository === b.repository ? (a.digest < b.digest ? -1 : 1) : a.repository < b.repository ? -1 : 1,
    )) {
      if (m.needed || now - m.createdAt < after * HOUR) continue;
      untaggedDecisions.push({
        repository: m.repository,
        digest: m.digest,
        reason: `untagged for over ${after} hours`,
      });
      bytesFreed += m.size;
    }
  }
  return { tags: decisions, untagged: untaggedDecisions, refused, bytesFreed };
}

/** Bytes of the images whose last tag goes, less what the repository's remaining tags still reference. */
function freedBytes(tags: RetentionTag[], decisions: TagDecision[]): number {
  const deleted = new Set(decisions.filter((d) => d.action === 'delete').map((d) => d.tag));
  const remaining = tags.filter((t) => !deleted.has(t.tag));
  const stillTagged = new Set(remaining.map((t) => t.digest));
  const stillUsed = new Set(remaining.flatMap((t) => t.blobs.map((b) => b.digest)));
  const freed = new Map<string, number>();
  for (const tag of tags) {
    if (!deleted.has(tag.tag) || stillTagged.has(tag.digest)) continue;
    freed.set(tag.digest, tag.manifestSize);
    for (const blob of tag.blobs) if (!stillUsed.has(blob.digest)) freed.set(blob.digest, blob.size);
  }
  let total = 0;
  for (const size of freed.values()) total += size;
  return total;
}

import { projectOf } from '../access/principal.js';
import { globMatches } from '../access/repository-glob.js';
import type { ImmutabilityStore } from '../metadata/immutability-store.js';
import type { MetadataQueries } from '../metadata/metadata-store.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepoName } from '../oci/names.js';
import { describeRule, type ImmutabilityRule, immutableBy } from '../policy/tag-immutability.js';

/** Routes validate rules with the grammar the decisions use. */
export { isValidTagPattern } from '../policy/tag-immutability.js';

// Tags listed per query while a manifest delete looks for immutable ones among them.
const TAG_PAGE = 1000;

function refusal(repo: RepoName, tag: string, rule: ImmutabilityRule, what: string): RegistryError {
  return new RegistryError(
    'DENIED',
    { reason: 'immutable tag', repository: repo, tag, rule: rule.id },
    {},
    `tag ${tag} of ${repo} is immutable by ${describeRule(rule)}: ${what}`,
  );
}

/**
 * Enforces the tag immutability rules in the registry's use cases: a push may not move an immutable tag (the
 * same manifest again is accepted), and neither a tag delete nor a manifest delete may remove one. A forced
 * delete does not bypass it either: the rule is removed first, which the audit log records.
 */
export class TagImmutabilityGuard {
  constructor(private readonly store: Pick<ImmutabilityStore, 'listRules'>) {}

  /** The project's rules, read once per use case: a handful of rows, checked before the transaction starts. */
  rulesFor(repo: RepoName): Promise<ImmutabilityRule[]> {
    return this.store.listRules(projectOf(repo));
  }

  /** A project's rules as a yes/no check on (repository, tag), for retention's plan. */
  async immutableCheckFor(project: string): Promise<(repo: RepoName, tag: string) => boolean> {
    const rules = await this.store.listRules(project);
    return (repo, tag) => immutableBy(rules, repo, tag, globMatches) !== undefined;
  }

  /** Inside the manifest PUT's transaction: refuses when a tag it sets is immutable and names another digest. */
  async checkPush(
    tx: MetadataQueries,
    rules: ImmutabilityRule[],
    repo: RepoName,
    tags: string[],
    digest: Digest,
  ): Promise<void> {
    if (rules.length === 0) return;
    for (const tag of tags) {
      const rule = immutableBy(rules, repo, tag, globMatches);
      if (!rule) continue;
      const current = await tx.manifestInfo(repo, { tag });
      if (current && current.digest !== digest)
        throw refusal(repo, tag, rule, `it names ${current.digest}; push under a new tag instead`);
    }
  }

  /** Refuses deleting a tag that exists and is immutable. */
  async checkTagDelete(
    tx: MetadataQueries,
    rules: ImmutabilityRule[],
    repo: RepoName,
    tag: string,
  ): Promise<void> {
    const rule = immutableBy(rules, repo, tag, globMatches);
    if (rule && (await tx.manifestInfo(repo, { tag })))
      throw refusal(repo, tag, rule, 'it cannot be deleted');
  }

  /**
   * Refuses deleting a manifest that an immutable tag names (the delete would take the tag with it). Tags are
   * matched against the rules first, in pages; only the immutable ones cost a lookup.
   */
  async checkManifestDelete(
    tx: MetadataQueries,
    rules: ImmutabilityRule[],
    repo: RepoName,
    repositoryId: number,
    digest: Digest,
  ): Promise<void> {
    if (!rules.some((r) => r.kind === 'include')) return;
    let after: string | undefined;
    for (;;) {
      const page = await tx.listTags(repositoryId, { limit: TAG_PAGE, after });
      for (const tag of page) {
        const rule = immutableBy(rules, repo, tag, globMatches);
        if (rule && (await tx.manifestInfo(repo, { tag }))?.digest === digest)
          throw refusal(repo, tag, rule, `manifest ${digest} cannot be deleted while the tag names it`);
      }
      if (page.length < TAG_PAGE) return;
      after = page[page.length - 1];
    }
  }
}

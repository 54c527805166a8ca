/** What a decision needs of a rule: the stored record has more (project, creation time). */
export interface ImmutabilityRule {
  id: number;
  /** Repository glob over the path below the project (`app`, `team/*`, `**`). */
  repository: string;
  /** Tag pattern: `*` any run of characters, `?` one character. */
  tag: string;
  kind: 'include' | 'exclude';
}

const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;

/** Whether a tag pattern is well formed: tag characters, `*` and `?`, at most 128 characters. */
export function isValidTagPattern(pattern: string): boolean {
  return TAG_PATTERN.test(pattern);
}

const compiled = new Map<string, RegExp>();

function tagPatternToRegExp(pattern: string): RegExp {
  let cached = compiled.get(pattern);
  if (!cached) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\-]/g, '\\$&')))
      .join('');
    cached = new RegExp(`^${body}$`);
    // Bounded: patterns come from a few rules per project, but a cache must not grow with every input.
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, cached);
  }
  return cached;
}

export function tagMatches(pattern: string, tag: string): boolean {
  return tagPatternToRegExp(pattern).test(tag);
}

/** A repository's path below its project: `team/app/web` is `app/web` in `team`; `team` alone is ``. */
export function pathInProject(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? '' : repository.slice(slash + 1);
}

/** Matches a repository glob against a path: the access module's grammar, given by the caller. */
export type RepositoryMatcher = (glob: string, path: string) => boolean;

/**
 * The include rule that makes a tag of a repository immutable, or undefined when none does: a tag is
 * immutable when an include rule matches it and no exclude rule does (an exclude always wins, whatever the
 * order). The first matching include rule by id is the one a refusal names.
 */
export function immutableBy<R extends ImmutabilityRule>(
  rules: readonly R[],
  repository: string,
  tag: string,
  globMatches: RepositoryMatcher,
): R | undefined {
  const path = pathInProject(repository);
  const ruleMatches = (rule: R) => globMatches(rule.repository, path) && tagMatches(rule.tag, tag);
  if (rules.some((r) => r.kind === 'exclude' && ruleMatches(r))) return undefined;
  return [...rules].sort((a, b) => a.id - b.id).find((r) => r.kind === 'include' && ruleMatches(r));
}

/** How a refusal names a rule: its id and what it matches, so the user can find and remove it. */
export function describeRule(rule: ImmutabilityRule): string {
  return `immutability rule ${rule.id} (repository "${rule.repository}", tag "${rule.tag}")`;
}

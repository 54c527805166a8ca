/**
 * Repository globs: `*` matches within one path segment (`team/*` is `team/app`, not `team/a/b`), `**` matches
 * across segments (`team/**` is everything under team), anything else matches itself. `*` alone matches
 * one-segment names and `**` matches every repository. Policy files use another grammar: `policy/path-glob.ts`.
 */
const compiled = new Map<string, RegExp>();

export function repositoryGlobToRegExp(glob: string): RegExp {
  let cached = compiled.get(glob);
  if (!cached) {
    let pattern = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i] as string;
      if (c === '*' && glob[i + 1] === '*') {
        // `team/**` also matches `team` itself only when written `team**`; a trailing `/**` needs a segment.
        pattern += '.*';
        i++;
      } else if (c === '*') pattern += '[^/]*';
      else pattern += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
    cached = new RegExp(`^${pattern}$`);
    compiled.set(glob, cached);
  }
  return cached;
}

export function globMatches(glob: string, repository: string): boolean {
  return repositoryGlobToRegExp(glob).test(repository);
}

/** Whether a glob is well formed: repository characters, `/` and `*` only. */
export function isValidGlob(glob: string): boolean {
  return glob.length > 0 && glob.length <= 256 && /^[a-z0-9._/*-]+$/.test(glob) && !glob.includes('***');
}

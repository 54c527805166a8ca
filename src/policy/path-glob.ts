/**
 * Path globs, the grammar of the admission policy: segments split by `/`, shell-like wildcards inside a segment
 * (`*`, `?`, `[a-z]`, `{a,b}`) and `**` as a whole segment. The policy uses them for file paths inside an image
 * and for names (hosts, projects, tags). Repository globs of access rules are another, smaller grammar:
 * `access/repository-glob.ts`.
 */

/** A compiled glob: the text as written and the expression it became. */
export interface Glob {
  glob: string;
  regex: RegExp;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
}

/** Compiles one run of glob text without `/` handling beyond "wildcards never cross a slash". */
function compileGlobPart(glob: string, inBraces: boolean): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      while (glob[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) throw new Error(`unclosed "[" at position ${i + 1}`);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body.length === 0) throw new Error(`empty "[]" at position ${i + 1}`);
      // Only `-` keeps its meaning inside a class; everything else is literal.
      const cls = body.replace(/[\\\]^[]/g, '\\$&');
      out += negate ? `[^/${cls}]` : `(?!/)[${cls}]`;
      i = end;
    } else if (c === '{') {
      if (inBraces) throw new Error(`nested "{" at position ${i + 1}`);
      const end = glob.indexOf('}', i + 1);
      if (end < 0) throw new Error(`unclosed "{" at position ${i + 1}`);
      const alternatives = glob.slice(i + 1, end).split(',');
      out += `(?:${alternatives.map((alt) => compileGlobPart(alt, true)).join('|')})`;
      i = end;
    } else if (c === '}' && !inBraces) throw new Error(`unmatched "}" at position ${i + 1}`);
    else out += escapeRegExp(c);
  }
  return out;
}

/**
 * Compiles a glob to an anchored RegExp: `*` any run of characters except `/` (dot files included), `?` one such
 * character, `[abc]` `[a-z]` `[!a]` a class, `{a,b}` alternatives, and `**` as a whole segment any number of
 * directories (`**\/x` is `x` at any depth, `a/**` everything under `a`). Throws on malformed classes and braces.
 */
export function pathGlobToRegExp(glob: string): RegExp {
  const segments = glob.split('/');
  let out = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === '**') {
      // `**/` may match no directory at all; a trailing `/**` needs at least one more segment.
      out += last ? (i === 0 ? '.*' : '.+') : '(?:[^/]+/)*';
      continue;
    }
    out += compileGlobPart(segment, false);
    if (!last) out += '/';
  }
  return new RegExp(`^${out}$`);
}

/**
 * A glob over paths inside an image. Paths are compared without their leading `/`; a glob with no `/` matches
 * the file name at any depth (`.env` is `**\/.env`), one with a `/` is anchored at the root.
 */
export function fileGlobToRegExp(glob: string): RegExp {
  const trimmed = glob.replace(/^\/+/, '').replace(/\/+$/, '');
  return pathGlobToRegExp(glob.includes('/') ? trimmed : `**/${trimmed}`);
}

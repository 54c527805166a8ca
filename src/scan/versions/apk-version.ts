import { compareDigitRuns, compareText } from '../text-order.js';

/**
 * Alpine apk version ordering (apk-tools): `1.2.3[letter][_suffix[N]]…[~hash][-rN]`. Versions are read as a
 * sequence of tokens; at the first difference the token values decide, or, when the kinds differ, the kind.
 */

type TokenKind = 'digit' | 'letter' | 'suffix' | 'hash' | 'revision' | 'end';

interface Token {
  kind: TokenKind;
  /** Digits as text (compared by value), a letter, a suffix's rank, or a hash. */
  value: string;
  /** For a suffix: its number (`_rc2` → 2), 0 when absent. */
  number?: string;
  /** For a digit: whether it is the first component (later components with a leading zero compare as fractions). */
  first?: boolean;
}

/** Pre-release suffixes sort before the bare version, post-release ones after it. */
const SUFFIX_RANK: Record<string, number> = {
  alpha: -4,
  beta: -3,
  pre: -2,
  rc: -1,
  cvs: 1,
  svn: 2,
  git: 3,
  hg: 4,
  p: 5,
};

// When two versions differ in token kind at the same place, the kind earlier in this list sorts after.
const KIND_ORDER: Record<TokenKind, number> = {
  digit: 1,
  letter: 2,
  suffix: 3,
  hash: 4,
  revision: 5,
  end: 6,
};

const VALID = /^\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(~[0-9a-f]+)?(-r\d+)?$/;

export function isValidApkVersion(version: string): boolean {
  return VALID.test(version);
}

/** Tokens of a version; anything past what apk-tools understands is kept as one trailing letter run. */
function tokenize(version: string): Token[] {
  const tokens: Token[] = [];
  let rest = version;
  const take = (re: RegExp): RegExpExecArray | null => {
    const m = re.exec(rest);
    if (m) rest = rest.slice(m[0].length);
    return m;
  };
  const first = take(/^\d+/);
  if (first) tokens.push({ kind: 'digit', value: first[0], first: true });
  for (let m = take(/^\.(\d+)/); m; m = take(/^\.(\d+)/))
    tokens.push({ kind: 'digit', value: m[1] as string, first: false });
  const letter = take(/^[a-z]/);
  if (letter) tokens.push({ kind: 'letter', value: letter[0] });
  const suffix = /^_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)/;
  for (let m = take(suffix); m; m = take(suffix))
    tokens.push({ kind: 'suffix', value: m[1] as string, number: m[2] || '0' });
  const hash = take(/^~([0-9a-f]+)/);
  if (hash) tokens.push({ kind: 'hash', value: hash[1] as string });
  const revision = take(/^-r(\d+)/);
  if (revision) tokens.push({ kind: 'revision', value: revision[1] as string });
  // Not an apk version past this point: compare what is left as text so the order stays total.
  if (rest) tokens.push({ kind: 'letter', value: rest });
  tokens.push({ kind: 'end', value: '' });
  return tokens;
}

function compareSame(a: Token, b: Token): number {
  switch (a.kind) {
    case 'digit':
      // apk-tools: a later component with a leading zero (1.01) is a decimal fraction, compared as text.
      if (!a.first && (a.value.startsWith('0') || b.value.startsWith('0')))
        return compareText(a.value, b.value);
      return compareDigitRuns(a.value, b.value);
    case 'suffix':
      return (
        (SUFFIX_RANK[a.value] ?? 0) - (SUFFIX_RANK[b.value] ?? 0) ||
        compareDigitRuns(a.number ?? '0', b.number ?? '0')
      );
    case 'revision':
      return compareDigitRuns(a.value, b.value);
    case 'letter':
    case 'hash':
      return compareText(a.value, b.value);
    case 'end':
      return 0;
  }
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in apk's ordering. */
export function compareApkVersions(a: string, b: string): number {
  const x = tokenize(a);
  const y = tokenize(b);
  for (let i = 0; ; i++) {
    const ta = x[i] as Token;
    const tb = y[i] as Token;
    if (ta.kind === tb.kind) {
      const order = compareSame(ta, tb);
      if (order !== 0) return Math.sign(order);
      if (ta.kind === 'end') return 0;
      continue;
    }
    // A pre-release suffix sorts before whatever the other version has at this place (1.0_rc1 < 1.0 < 1.0.1).
    if (ta.kind === 'suffix' && (SUFFIX_RANK[ta.value] ?? 0) < 0) return -1;
    if (tb.kind === 'suffix' && (SUFFIX_RANK[tb.value] ?? 0) < 0) return 1;
    return KIND_ORDER[ta.kind] > KIND_ORDER[tb.kind] ? -1 : 1;
  }
}

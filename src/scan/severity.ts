import cvss from 'ae-cvss-calculator';
import type { OsvAffected, OsvRecord, OsvSeverity } from './osv/osv-record.js';
import { compareText } from './text-order.js';
import type { Finding, Severity } from './types.js';
import { SEVERITIES } from './types.js';

/**
 * Severity of an advisory: from a CVSS vector (4.0, 3.x or 2.0) when one parses, else from the words databases
 * use (Debian urgency, Ubuntu priority, GitHub and Red Hat ratings).
 */

export interface SeverityRating {
  severity: Severity;
  /** CVSS base score, when a vector gave one. */
  score?: number;
  vector?: string;
}

// Allowed values shared by several metrics.
const CIA_2 = ['N', 'P', 'C'] as const;
const HLN = ['H', 'L', 'N'] as const;

/** Base metrics each version requires, with their allowed values; the calculator alone accepts partial vectors. */
const REQUIRED: Record<string, Record<string, readonly string[]>> = {
  '2.0': { AV: ['L', 'A', 'N'], AC: ['H', 'M', 'L'], Au: ['M', 'S', 'N'], C: CIA_2, I: CIA_2, A: CIA_2 },
  '3': {
    AV: ['N', 'A', 'L', 'P'],
    AC: ['L', 'H'],
    PR: ['N', 'L', 'H'],
    UI: ['N', 'R'],
    S: ['U', 'C'],
    C: HLN,
    I: HLN,
    A: HLN,
  },
  '4.0': {
    AV: ['N', 'A', 'L', 'P'],
    AC: ['L', 'H'],
    AT: ['N', 'P'],
    PR: ['N', 'L', 'H'],
    UI: ['N', 'P', 'A'],
    VC: HLN,
    VI: HLN,
    VA: HLN,
    SC: HLN,
    SI: HLN,
    SA: HLN,
  },
};

/** The rank of a severity: higher is more severe (`UNKNOWN` is 1, `CRITICAL` is 5). */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

/** Most severe first. */
export function compareSeverity(a: Severity, b: Severity): number {
  return severityRank(b) - severityRank(a);
}

/** A severity name in any case (`high`, `CRITICAL`); undefined when it is not one. */
export function parseSeverity(text: string): Severity | undefined {
  const upper = text.trim().toUpperCase();
  return SEVERITIES.find((s) => s === upper);
}

/** The fields of a `Finding` that order findings; the admission gate's findings carry only these. */
export type FindingOrderKey = Pick<Finding, 'severity' | 'packageName' | 'id' | 'installedVersion'> & {
  location?: string;
};

/** Highest severity first, then package, then advisory id (then version and location, so the order is total). */
export function compareFindings(a: FindingOrderKey, b: FindingOrderKey): number {
  return (
    compareSeverity(a.severity, b.severity) ||
    compareText(a.packageName, b.packageName) ||
    compareText(a.id, b.id) ||
    compareText(a.installedVersion, b.installedVersion) ||
    compareText(a.location ?? '', b.location ?? '')
  );
}

/** The CVSS version of a vector (`4.0`, `3.1`, `3.0`, `2.0`) when its base metrics are complete and unique. */
function cvssVersion(vector: string): string | undefined {
  const text = vector.trim().replace(/^\(|\)$/g, '');
  const prefix = /^CVSS:(\d\.\d)\//.exec(text);
  const version = prefix ? prefix[1] : '2.0';
  const table = REQUIRED[version === '3.0' || version === '3.1' ? '3' : (version as string)];
  if (!table) return undefined;
  const metrics = new Map<string, string>();
  for (const part of text.slice(prefix ? prefix[0].length : 0).split('/')) {
    const [key, value, extra] = part.split(':');
    if (!key || value === undefined || extra !== undefined || metrics.has(key)) return undefined;
    metrics.set(key, value);
  }
  for (const [key, allowed] of Object.entries(table)) {
    const value = metrics.get(key);
    if (value === undefined || !allowed.includes(value)) return undefined;
  }
  return version;
}

/** The qualitative rating of a base score (CVSS v3/v4 table; v2 has no CRITICAL band). A score of 0 says nothing. */
export function severityFromScore(score: number, version = '3.1'): Severity {
  if (!(score > 0)) return 'UNKNOWN';
  if (version === '2.0') return score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  return 'LOW';
}

/** Score and rating of a CVSS vector; undefined (never an exception) when it does not parse. */
export function severityFromCvss(vector: string): (SeverityRating & { version: string }) | undefined {
  const version = cvssVersion(vector);
  if (!version) return undefined;
  const text = vector.trim().replace(/^\(|\)$/g, '');
  try {
    const parsed = cvss.fromVector(text) as { calculateScores(): { base?: number } } | null | undefined;
    const score = parsed?.calculateScores().base;
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
    return { severity: severityFromScore(score, version), score, vector: text, version };
  } catch {
    return undefined;
  }
}

const WORDS: Record<string, Severity> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  important: 'HIGH',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  low: 'LOW',
  negligible: 'LOW',
  unimportant: 'LOW',
};

/** A database's own rating word (`moderate`, `important`, Debian's `low**`…); undefined when not one we know. */
export function severityFromWord(word: unknown): Severity | undefined {
  if (typeof word !== 'string') return undefined;
  return WORDS[word.trim().toLowerCase().replace(/\*+$/, '')];
}

const VERSION_RANK: Record<string, number> = { '4.0': 4, '3.1': 3.1, '3.0': 3, '2.0': 2 };

/** The parsing vector of the highest CVSS version among severity entries. */
function bestCvss(entries: readonly OsvSeverity[]): (SeverityRating & { version: string }) | undefined {
  let best: (SeverityRating & { version: string }) | undefined;
  for (const entry of entries) {
    if (!entry.type.startsWith('CVSS_')) continue;
    const rating = severityFromCvss(entry.score);
    if (rating && (!best || (VERSION_RANK[rating.version] ?? 0) > (VERSION_RANK[best.version] ?? 0)))
      best = rating;
  }
  return best;
}

function wordFrom(holder: unknown): Severity | undefined {
  if (typeof holder !== 'object' || holder === null) return undefined;
  return severityFromWord((holder as Record<string, unknown>).severity);
}

/**
 * The severity of a record for one affected package: the package's own CVSS vectors, else the record's; when none
 * gives a rating, the words in the package's `ecosystem_specific`/`database_specific`, a `Ubuntu` priority, or the
 * record's `database_specific.severity`.
 */
export function recordSeverity(record: OsvRecord, affected?: OsvAffected): SeverityRating {
  const scored = bestCvss(affected?.severity ?? []) ?? bestCvss(record.severity ?? []);
  if (scored && scored.severity !== 'UNKNOWN')
    return { severity: scored.severity, score: scored.score, vector: scored.vector } as SeverityRating;
  const priorities = [...(affected?.severity ?? []), ...(record.severity ?? [])]
    .filter((s) => !s.type.startsWith('CVSS_'))
    .map((s) => severityFromWord(s.score));
  const word =
    wordFrom(affected?.ecosystem_specific) ??
    wordFrom(affected?.database_specific) ??
    priorities.find((s) => s !== undefined) ??
    wordFrom(record.database_specific);
  const rating: SeverityRating = { severity: word ?? 'UNKNOWN' };
  if (scored) {
    rating.score = scored.score;
    rating.vector = scored.vector;
  }
  return rating;
}

/** Parses `CRITICAL,HIGH` (any case). */
export function parseSeverityList(raw: string): Severity[] | string {
  const out: Severity[] = [];
  for (const part of raw.split(',')) {
    if (!part.trim()) continue;
    const severity = parseSeverity(part);
    if (!severity) return `"${part.trim()}" is not a severity (one of ${SEVERITIES.join(', ')})`;
    out.push(severity);
  }
  return out.length > 0 ? out : 'no severity given';
}

/** How many findings of each severity, every severity present (0 when none). */
export function countBySeverity(findings: Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

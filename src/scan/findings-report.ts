import { severityRank } from './severity.js';
import type { Finding, ScanIssue, Severity } from './types.js';

/** The result of a vulnerability scan, whichever scanner made it. */
export interface ScanResult {
  image: { name: string; digest: string; platform?: string };
  scanner: { name: 'berth' | 'trivy'; version: string };
  os?: { id: string; versionId?: string; prettyName?: string };
  packages: number;
  findings: Finding[];
  issues: ScanIssue[];
  /** The advisory database the findings come from. */
  database?: { path: string; records: number; newestModified?: string };
  /** A layer could not be read: packages it held may be missing. */
  incomplete?: boolean;
}

/** Keeps findings of the listed severities (Trivy's `--severity`) and, on request, only fixable ones. */
export function filterFindings(
  findings: Finding[],
  options: { severities?: Severity[]; ignoreUnfixed?: boolean },
): Finding[] {
  return findings.filter(
    (f) =>
      (!options.severities || options.severities.includes(f.severity)) &&
      (!options.ignoreUnfixed || f.fixedVersion !== undefined),
  );
}

/** Findings at or above `threshold`, which make `--fail-on` fail. */
export function findingsAtOrAbove(findings: Finding[], threshold: Severity): Finding[] {
  const min = severityRank(threshold);
  return findings.filter((f) => severityRank(f.severity) >= min);
}

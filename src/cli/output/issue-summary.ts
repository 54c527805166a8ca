import type { ScanIssue } from '../../scan/types.js';

export function formatIssue(issue: ScanIssue): string {
  const layer = issue.layerIndex !== undefined ? ` layer #${issue.layerIndex + 1}` : '';
  const path = issue.path ? ` ${issue.path}` : '';
  return `${issue.code}${layer}${path}: ${issue.message}`;
}

/**
 * Issues as terminal lines, at most `perCode` of each code (a Debian root alone has eight device nodes);
 * the rest are counted. `--json` output keeps them all.
 */
export function summarizeIssues(issues: readonly ScanIssue[], perCode = 5): string[] {
  const shown = new Map<string, number>();
  const lines: string[] = [];
  for (const issue of issues) {
    const count = (shown.get(issue.code) ?? 0) + 1;
    shown.set(issue.code, count);
    if (count <= perCode) lines.push(formatIssue(issue));
  }
  for (const [code, count] of shown) {
    if (count > perCode) lines.push(`${code}: … and ${count - perCode} more`);
  }
  return lines;
}

import type { ScanResult } from '../../scan/findings-report.js';
import { countBySeverity } from '../../scan/severity.js';
import { type Finding, SEVERITIES } from '../../scan/types.js';
import { summarizeIssues } from './issue-summary.js';

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The terminal table: one row per finding, like Trivy's. */
export function formatFindingsTable(result: ScanResult, findings: Finding[]): string {
  const counts = countBySeverity(findings);
  const lines = [
    `${result.image.name} (${result.os?.prettyName ?? result.os?.id ?? 'unknown OS'})`,
    `Total: ${findings.length} (${SEVERITIES.map((s) => `${s}: ${counts[s]}`).join(', ')}) in ${result.packages} packages`,
  ];
  if (findings.length > 0) {
    const header = ['PACKAGE', 'VULNERABILITY', 'SEVERITY', 'SCORE', 'INSTALLED', 'FIXED', 'TITLE'];
    const rows = findings.map((f) => [
      f.packageName,
      f.id === (f.aliases.find((a) => a.startsWith('CVE-')) ?? f.id)
        ? f.id
        : `${f.id} (${f.aliases.find((a) => a.startsWith('CVE-'))})`,
      f.severity,
      f.score !== undefined ? f.score.toFixed(1) : '',
      f.installedVersion,
      f.fixedVersion ?? '',
      clip(f.summary, 70),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const render = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    lines.push('', render(header), ...rows.map(render));
  }
  if (result.issues.length > 0) {
    lines.push('', 'Issues:', ...summarizeIssues(result.issues).map((line) => `  ${line}`));
  }
  return `${lines.join('\n')}\n`;
}

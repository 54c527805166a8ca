import type { AdmissionReport, AdmissionStatus } from '../../policy/admission-check.js';

const STATUS_LABELS: Record<AdmissionStatus, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  warn: 'WARN',
  skip: 'SKIP',
};
// A secret sprayed over thousands of files would bury the summary; `--json` keeps every item.
const MAX_ITEMS_SHOWN = 20;

/** The report for a terminal: one line per check, its items indented, then a summary line. */
export function formatAdmissionReport(report: AdmissionReport): string {
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${STATUS_LABELS[check.status]}  ${check.message}`);
    const items = check.items ?? [];
    for (const item of items.slice(0, MAX_ITEMS_SHOWN)) lines.push(`        ${item}`);
    if (items.length > MAX_ITEMS_SHOWN)
      lines.push(`        ... and ${items.length - MAX_ITEMS_SHOWN} more (see --json)`);
  }
  const { counts } = report;
  const tally = `${counts.total} checks: ${counts.pass} passed, ${counts.fail} failed, ${counts.warn} warning${counts.warn === 1 ? '' : 's'}, ${counts.skip} skipped`;
  let verdict: string;
  if (report.passed) verdict = 'passed';
  else if (report.refused) verdict = 'FAILED: image refused';
  else verdict = 'FAILED (warn mode: not enforced)';
  lines.push(`policy ${report.policy}: ${verdict} (${tally})`);
  return `${lines.join('\n')}\n`;
}

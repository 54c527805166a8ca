import type { BlobCheckReport, BlobProblem } from '../../jobs/blob-check.js';
import { formatBytes } from '../../oci/byte-size.js';

function problemText(p: BlobProblem): string {
  let text =
    p.problem === 'corrupt'
      ? `corrupt  ${p.digest}  (its ${p.size} bytes hash to ${p.actual})\n`
      : `missing  ${p.digest}  (linked, but storage has no bytes)\n`;
  if (p.quarantined) text += `  moved aside to ${p.quarantined}\n`;
  if (p.repairedByPush) text += '  a push stored good bytes meanwhile: repaired\n';
  if (p.dependents.length === 0) text += '  nothing uses it\n';
  for (const d of p.dependents) {
    const tags = d.tags.length > 0 ? `tags ${d.tags.join(', ')}` : 'no tags';
    text += `  ${d.repository}: ${tags}; ${d.manifests.length} manifest(s)${d.linked ? '' : ' (blob not linked)'}\n`;
  }
  return text;
}

/** `berth fsck` on a terminal: each problem with what it breaks, then a summary and what to do. */
export function fsckReportText(report: BlobCheckReport, repair: boolean): string {
  let text = '';
  for (const p of report.problems) text += problemText(p);
  text += `checked ${report.checked} blobs (${formatBytes(report.bytes)}): `;
  if (report.problems.length === 0) return `${text}no problems\n`;
  text += `${report.problems.length} problem(s)\n`;
  text += repair
    ? 'push the images again (or mount the blobs from another repository) to restore what was moved aside\n'
    : 'run `berth fsck --repair` to move corrupt blobs aside, then push the images again\n';
  return text;
}

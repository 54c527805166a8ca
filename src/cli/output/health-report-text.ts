import type { HealthReportJson } from '../../client/health-report.js';
import { formatBytes } from '../../oci/byte-size.js';

const BAR_WIDTH = 30;

/** A bar of `value` against `max`, in whole and eighth blocks, so that small differences still show. */
export function bar(value: number, max: number, width = BAR_WIDTH): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  const partial = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8] ?? '';
  return '█'.repeat(Math.floor(eighths / 8)) + partial;
}

function chart(rows: { label: string; value: number; shown: string }[]): string[] {
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
  const shownWidth = Math.max(0, ...rows.map((r) => r.shown.length));
  const max = Math.max(0, ...rows.map((r) => r.value));
  return rows.map(
    (r) => `  ${r.label.padEnd(labelWidth)}  ${r.shown.padStart(shownWidth)}  ${bar(r.value, max)}`,
  );
}

const day = (iso: string): string => iso.slice(0, 10);

/** `berth report` in a terminal: sections with simple bar charts, and plain words where data is missing. */
export function healthReportText(report: HealthReportJson): string {
  const out: string[] = [];
  const scope = report.project === null ? 'the whole registry' : `project ${report.project}`;
  out.push(
    `Berth health report for ${scope}, ${day(report.generatedAt)} (pushes and pulls: last ${report.windowDays} days)`,
  );

  const s = report.storage;
  out.push('', `Storage: ${formatBytes(s.totalBytes)} in ${s.blobs} blobs`);
  if (s.growthRatio !== null) {
    const change = Math.round((s.growthRatio - 1) * 100);
    out.push(
      `  added in the last ${report.windowDays} days: ${change >= 0 ? '+' : ''}${change}% against the ${report.windowDays} days before`,
    );
  }
  out.push(
    ...chart(
      s.months.map((m) => ({
        label: m.month,
        value: m.totalBytes,
        shown: `${formatBytes(m.totalBytes)} (+${formatBytes(m.addedBytes)})`,
      })),
    ),
  );
  out.push(`  (${s.source})`);

  out.push('', 'Largest repositories');
  if (report.topBySize.length === 0) out.push('  none');
  else
    out.push(
      ...chart(
        report.topBySize.map((r) => ({ label: r.repository, value: r.bytes, shown: formatBytes(r.bytes) })),
      ),
    );

  out.push('', `Most pulled repositories (last ${report.windowDays} days)`);
  if (!report.pulls.available) out.push(`  ${report.pulls.reason}`);
  else if (report.pulls.top.length === 0) out.push('  no pulls recorded');
  else {
    out.push(`  ${report.pulls.total} pulls in all`);
    out.push(
      ...chart(
        report.pulls.top.map((r) => ({ label: r.repository, value: r.pulls, shown: String(r.pulls) })),
      ),
    );
  }

  const st = report.stale;
  out.push('', `Images not pulled in ${st.days} days: ${st.partial ? 'at least ' : ''}${st.count}`);
  for (const t of st.tags) {
    out.push(
      `  ${t.repository}:${t.tag}  pushed ${day(t.pushedAt)}, ${t.lastPulledAt ? `last pulled ${day(t.lastPulledAt)}` : 'no pull recorded'}`,
    );
  }
  if (st.count > st.tags.length)
    out.push(`  … and ${st.count - st.tags.length} more (--json lists the first ones too)`);

  const p = report.pushes;
  out.push(
    '',
    `Pushes (last ${report.windowDays} days): ${p.succeeded === null ? 'succeeded: not available (events are off)' : `${p.succeeded} succeeded`}, ${p.refused} refused`,
  );
  for (const r of p.byRepository) out.push(`  ${r.repository}: ${r.refused} refused`);
  out.push(`  (${p.source})`);

  out.push('', `Vulnerabilities: ${report.vulnerabilities.reason}`);
  return `${out.join('\n')}\n`;
}

import type { HealthReportJson } from '../../client/health-report.js';
import { formatBytes } from '../../oci/byte-size.js';

/** Everything the server sent is text to escape: repository and tag names end up inside the page. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A table with a bar per row drawn in CSS: the file needs no script, font or image from anywhere else. */
function barTable(rows: { label: string; value: number; shown: string }[]): string {
  if (rows.length === 0) return '<p>none</p>';
  const max = Math.max(...rows.map((r) => r.value), 1);
  const body = rows
    .map(
      (r) =>
        `<tr><td>${esc(r.label)}</td><td class="n">${esc(r.shown)}</td><td class="bar"><span style="width:${((r.value / max) * 100).toFixed(1)}%"></span></td></tr>`,
    )
    .join('');
  return `<table>${body}</table>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td{padding:.15rem .5rem;vertical-align:middle}td.n{text-align:right;white-space:nowrap}
td.bar{width:45%}td.bar span{display:block;height:.8rem;background:#3a7bd5}.note{color:#666;font-size:.85rem}`;

/** `berth report --format html`: one self-contained file (inline style, no external references). */
export function healthReportHtml(report: HealthReportJson): string {
  const scope = report.project === null ? 'the whole registry' : `project ${report.project}`;
  const w = report.windowDays;
  const s = report.storage;
  const parts: string[] = [];
  parts.push(`<h1>Berth health report: ${esc(scope)}</h1>`);
  parts.push(`<p>Generated ${esc(report.generatedAt)}. Pushes and pulls over the last ${w} days.</p>`);
  parts.push(`<h2>Storage: ${esc(formatBytes(s.totalBytes))} in ${s.blobs} blobs</h2>`);
  if (s.growthRatio !== null) {
    parts.push(
      `<p>Added in the last ${w} days: ${Math.round(s.growthRatio * 100)}% of the ${w} days before.</p>`,
    );
  }
  parts.push(
    barTable(
      s.months.map((m) => ({
        label: m.month,
        value: m.totalBytes,
        shown: `${formatBytes(m.totalBytes)} (+${formatBytes(m.addedBytes)})`,
      })),
    ),
  );
  parts.push(`<p class="note">${esc(s.source)}</p>`);
  parts.push('<h2>Largest repositories</h2>');
  parts.push(
    barTable(
      report.topBySize.map((r) => ({ label: r.repository, value: r.bytes, shown: formatBytes(r.bytes) })),
    ),
  );
  parts.push(`<h2>Most pulled repositories (last ${w} days)</h2>`);
  if (!report.pulls.available) parts.push(`<p>${esc(report.pulls.reason)}</p>`);
  else {
    parts.push(`<p>${report.pulls.total} pulls in all.</p>`);
    parts.push(
      barTable(
        report.pulls.top.map((r) => ({ label: r.repository, value: r.pulls, shown: String(r.pulls) })),
      ),
    );
  }
  const st = report.stale;
  parts.push(`<h2>Images not pulled in ${st.days} days: ${st.partial ? 'at least ' : ''}${st.count}</h2>`);
  if (st.tags.length > 0) {
    const rows = st.tags
      .map(
        (t) =>
          `<tr><td>${esc(`${t.repository}:${t.tag}`)}</td><td>${esc(t.pushedAt.slice(0, 10))}</td><td>${t.lastPulledAt ? esc(t.lastPulledAt.slice(0, 10)) : 'no pull recorded'}</td></tr>`,
      )
      .join('');
    parts.push(`<table><tr><th>Image</th><th>Pushed</th><th>Last pull</th></tr>${rows}</table>`);
  }
  if (st.count > st.tags.length) parts.push(`<p>… and ${st.count - st.tags.length} more.</p>`);
  parts.push(`<p class="note">${esc(st.source)}</p>`);
  const p = report.pushes;
  parts.push(`<h2>Pushes (last ${w} days)</h2>`);
  parts.push(
    `<p>${p.succeeded === null ? 'Succeeded: not available (events are off)' : `${p.succeeded} succeeded`}, ${p.refused} refused.</p>`,
  );
  parts.push(
    barTable(
      p.byRepository.map((r) => ({ label: r.repository, value: r.refused, shown: `${r.refused} refused` })),
    ),
  );
  parts.push(`<p class="note">${esc(p.source)}</p>`);
  parts.push('<h2>Vulnerabilities</h2>');
  parts.push(`<p>${esc(report.vulnerabilities.reason)}</p>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berth health report: ${esc(scope)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${STYLE}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}

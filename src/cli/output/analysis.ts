import { formatBytes } from '../../oci/byte-size.js';
import type { AnalysisReport } from '../../scan/layer-analysis.js';
import { summarizeIssues } from './issue-summary.js';

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function shortDigest(digest: string): string {
  const hex = digest.split(':')[1] ?? digest;
  return hex.slice(0, 12);
}

function table(header: string[], rows: string[][], rightAligned: Set<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        return i === cells.length - 1 ? c : rightAligned.has(i) ? c.padStart(w) : c.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The terminal rendering of an analysis. */
export function formatAnalysis(
  report: AnalysisReport,
  image: { name: string; digest: string; platform?: string },
): string {
  const t = report.totals;
  const out: string[] = [
    `Image:        ${image.name}`,
    `Digest:       ${image.digest}`,
    ...(image.platform ? [`Platform:     ${image.platform}`] : []),
  ];
  if (report.baseImage) {
    const b = report.baseImage;
    const what = [b.name, b.digest ? `@${b.digest}` : '', b.os && b.os !== b.name ? ` (${b.os})` : '']
      .join('')
      .trim();
    out.push(
      `Base image:   ${what || 'unknown'}${b.layers !== undefined ? `, ${b.layers} of the layers` : ''}`,
      `              from: ${b.evidence.join('; ')}`,
    );
  }
  out.push(
    `Size:         ${formatBytes(t.compressedSize)} shipped, ${formatBytes(t.uncompressedSize)} uncompressed, ${report.layers.length} layers`,
    `Files:        ${t.finalFiles} in the final filesystem, ${formatBytes(t.finalFileBytes)}`,
    `Efficiency:   ${percent(t.efficiency)} (${formatBytes(t.finalFileBytes)} of ${formatBytes(t.shippedFileBytes)} of file bytes shipped reach the final filesystem)`,
    `Wasted:       ${formatBytes(t.wastedBytes)} (${formatBytes(t.overwrittenOrRemovedBytes)} overwritten or removed by a later layer, ${formatBytes(t.duplicateBytes)} duplicated across layers)`,
    '',
    'History (newest first):',
    ...table(
      ['CREATED', 'SIZE', 'LAYER', 'CREATED BY', 'COMMENT'],
      [...report.history]
        .reverse()
        .map((h) => [
          h.created || '-',
          h.emptyLayer ? '0 B' : formatBytes(h.size),
          h.layerIndex === null ? '<empty>' : `#${h.layerIndex + 1}`,
          oneLine(h.createdBy, 200) || '-',
          h.comment,
        ]),
      new Set([1]),
    ).map((l) => `  ${l}`),
  );
  if (report.historyMismatch) out.push(`  note: ${report.historyMismatch}`);
  out.push(
    '',
    'Layers:',
    ...table(
      ['#', 'DIGEST', 'SHIPPED', 'TAR', 'FILES', 'ADDED', 'CHANGED', 'REMOVED', 'WASTED', 'CREATED BY'],
      report.layers.map((l) => [
        `${l.index + 1}${l.incomplete ? '!' : ''}`,
        shortDigest(l.digest),
        formatBytes(l.compressedSize),
        formatBytes(l.uncompressedSize),
        String(l.files),
        `${l.added} (${formatBytes(l.addedBytes)})`,
        `${l.changed} (${formatBytes(l.changedBytes)})`,
        `${l.removed} (${formatBytes(l.removedBytes)})`,
        formatBytes(l.wastedBytes),
        oneLine(l.createdBy, 60),
      ]),
      new Set([0, 2, 3, 4, 8]),
    ).map((l) => `  ${l}`),
  );
  if (report.largestFiles.length > 0) {
    out.push(
      '',
      'Largest files:',
      ...report.largestFiles.map(
        (f) => `  ${formatBytes(f.size).padStart(10)}  #${f.layerIndex + 1}  ${f.path}`,
      ),
    );
  }
  if (report.largestFolders.length > 0) {
    out.push(
      '',
      'Largest folders:',
      ...report.largestFolders.map(
        (f) => `  ${formatBytes(f.bytes).padStart(10)}  ${String(f.files).padStart(7)} files  ${f.path}`,
      ),
    );
  }
  if (report.wastedFiles.length > 0) {
    out.push(
      '',
      'Wasted (overwritten or removed later):',
      ...report.wastedFiles.map(
        (w) =>
          `  ${formatBytes(w.wastedBytes).padStart(10)}  ${w.path}  (${w.layers.map((l, i) => `#${l + 1} ${w.how[i]}`).join(', ')})`,
      ),
    );
  }
  if (report.duplicates.length > 0) {
    out.push(
      '',
      'Duplicated across layers:',
      ...report.duplicates.map(
        (d) =>
          `  ${formatBytes(d.wastedBytes).padStart(10)}  ${d.paths.length} copies of ${formatBytes(d.size)}: ${d.paths
            .slice(0, 4)
            .map((p) => `${p.path} (#${p.layerIndex + 1})`)
            .join(', ')}${d.paths.length > 4 ? ', …' : ''}`,
      ),
    );
  }
  if (report.issues.length > 0) {
    out.push('', 'Issues:', ...summarizeIssues(report.issues).map((line) => `  ${line}`));
  }
  return `${out.join('\n')}\n`;
}

import type { Command } from 'commander';
import { examineImage } from '../client/image-examination.js';
import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { summarizeIssues } from '../scan/issue-summary.js';
import type { AnalysisReport } from '../scan/layer-analysis.js';
import { addClientOptions, type ClientFlags } from './client-options.js';
import { withImageSource } from './image-source-scope.js';
import { withLayerProgress } from './layer-progress.js';

interface AnalyzeFlags extends ClientFlags {
  platform?: string;
  json?: boolean;
  top?: string;
}

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

function parseTop(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10000)
    throw new BerthError('USAGE', `--top: "${raw}" is not a whole number from 0 to 10000`);
  return n;
}

export function registerAnalyzeCommand(program: Command): void {
  const analyze = program
    .command('analyze')
    .argument(
      '<image>',
      'docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, docker-daemon:NAME, HOST/REPO:TAG',
    )
    .description(
      'read every layer once: history, per-layer changes, wasted bytes, efficiency, largest files and folders, base image',
    )
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option('--top <n>', 'how many entries the largest and wasted lists show', '20')
    .option('--json', 'print the analysis as JSON')
    .addHelpText(
      'after',
      `
The efficiency is the share of the file bytes shipped in all layers that reach the final filesystem.
Wasted bytes are files a later layer overwrites or deletes (they still ship in the lower layer) plus
identical content shipped in more than one layer. Exit status: 0, or 1 when the image cannot be read
(a layer that cannot be read is reported and the rest analyzed; the exit status is then 1).

Examples:
  $ berth analyze docker-archive:app.tar
  $ berth analyze --json oci:./layout:v1 | jq .totals
  $ berth analyze --platform linux/arm64 registry.example.com/team/app:1.4`,
    );
  addClientOptions(analyze).action(async (raw: string, flags: AnalyzeFlags) => {
    const top = parseTop(flags.top);
    await withImageSource(raw, flags, async (source) => {
      const exam = await withLayerProgress((onLayer) =>
        examineImage(source, {
          onLayer,
          analysis: true,
          top,
          ...(flags.platform ? { platform: flags.platform } : {}),
        }),
      );
      const report = exam.analysis as AnalysisReport;
      const platform = exam.platform;
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(
            {
              name: source.description,
              digest: exam.digest,
              ...(exam.image.digest !== exam.digest ? { platformDigest: exam.image.digest } : {}),
              ...(platform ? { platform } : {}),
              ...report,
            },
            null,
            2,
          )}\n`,
        );
      } else {
        process.stdout.write(
          formatAnalysis(report, {
            name: source.description,
            digest: exam.digest,
            ...(platform ? { platform } : {}),
          }),
        );
      }
      if (exam.incomplete) process.exitCode = 1;
    });
  });
}

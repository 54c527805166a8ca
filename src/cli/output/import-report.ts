import type { ImportResult } from '../../client/import-batch.js';
import { formatBytes } from '../../oci/byte-size.js';
import { pushJson } from './push-result.js';

/** The `--json` report of an import: every image's push or error, and the totals. */
export function importJson(result: ImportResult): string {
  return `${JSON.stringify(
    {
      images: result.outcomes.map((o) =>
        o.run
          ? { status: 'ok', ...pushJson(o.run), tags: o.entry.tags }
          : {
              status: 'failed',
              source: o.entry.source,
              destination: o.entry.destination,
              error: o.error,
            },
      ),
      failed: result.failed,
      uploadedBytes: result.uploadedBytes,
    },
    null,
    2,
  )}\n`;
}

/** One row per image (the error in place of the time), then a summary line. */
export function importTable(result: ImportResult): string {
  const { outcomes, failed } = result;
  const rows = outcomes.map((o) => [
    o.entry.destination,
    o.run ? 'ok' : 'FAILED',
    o.run ? o.run.result.digest.slice(0, 19) : '-',
    // Bytes this run sent: a layer an interrupted run had partly uploaded counts only its rest.
    o.run ? (o.run.result.uploadedBytes > 0 ? formatBytes(o.run.result.sentBytes) : 'nothing') : '-',
    o.run ? `${o.run.seconds.toFixed(1)} s` : (o.error ?? ''),
  ]);
  const head = ['IMAGE', 'RESULT', 'DIGEST', 'UPLOADED', 'TIME'];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (i < 4 ? (r[i] ?? '').length : 0))),
  );
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join('  ');
  const summary =
    result.uploadedBytes === 0 && failed === 0
      ? `${outcomes.length} images, all already in place: nothing uploaded\n`
      : `${outcomes.length - failed} of ${outcomes.length} images copied, ${formatBytes(result.sentBytes)} uploaded\n`;
  return `${[line(head), ...rows.map(line)].join('\n')}\n${summary}`;
}

import type { HistoryRow } from '../../client/image-inspection.js';
import { formatBytes } from '../../oci/byte-size.js';
import { formatTable } from './table.js';

/**
 * An image config is someone else's text: control characters (terminal escapes, tabs, newlines of a
 * multi-line RUN) would forge output or break the columns, so each becomes one space.
 */
function cell(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/\s*[\u0000-\u001f\u007f-\u009f]+\s*/g, ' ').trim();
}

/**
 * On a terminal, aligned columns with the long CREATED BY last, so that it cannot push the others out of
 * line; elsewhere one tab-separated line per step, for `cut` and `awk`.
 */
export function formatHistory(rows: readonly HistoryRow[], options: { terminal: boolean }): string {
  const fields = rows.map((r) => ({
    layer: r.layer ?? '<missing>',
    created: cell(r.created),
    createdBy: cell(r.createdBy),
    size: formatBytes(r.size),
    comment: cell(r.comment),
  }));
  if (options.terminal) {
    return formatTable(
      ['LAYER', 'CREATED', 'SIZE', 'COMMENT', 'CREATED BY'],
      fields.map((f) => [f.layer, f.created, f.size, f.comment, f.createdBy]),
    );
  }
  const lines = ['LAYER\tCREATED\tCREATED BY\tSIZE\tCOMMENT'];
  for (const f of fields) lines.push(`${f.layer}\t${f.created}\t${f.createdBy}\t${f.size}\t${f.comment}`);
  return `${lines.join('\n')}\n`;
}

export const MiB = 1024 * 1024;

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One line of the summary: the medians of both servers and how they compare. */
export interface SummaryRow {
  metric: string;
  kind: 'duration' | 'rate' | 'memory' | 'cpu';
  /** For durations and memory the median raw value (seconds, bytes); for rates the median rate. */
  berth: number;
  distribution: number;
  /** Bytes moved, for durations: turns seconds into MiB/s. */
  bytes?: number;
  unit?: string;
  /** Berth relative to Distribution: throughput ratio (higher is better), or memory ratio (lower is better). */
  ratio: number;
  target?: { text: string; met: boolean };
  /** Every iteration's value, for the JSON file. */
  samples: { berth: number[]; distribution: number[] };
}

export function durationRow(
  metric: string,
  bytes: number,
  berth: number[],
  distribution: number[],
): SummaryRow {
  const b = median(berth);
  const d = median(distribution);
  const ratio = d / b;
  return {
    metric,
    kind: 'duration',
    berth: b,
    distribution: d,
    bytes,
    ratio,
    target: { text: 'Berth >= Distribution', met: ratio >= 1 },
    samples: { berth, distribution },
  };
}

export function rateRow(metric: string, unit: string, berth: number[], distribution: number[]): SummaryRow {
  const b = median(berth);
  const d = median(distribution);
  const ratio = b / d;
  return {
    metric,
    kind: 'rate',
    berth: b,
    distribution: d,
    unit,
    ratio,
    target: { text: 'Berth >= Distribution', met: ratio >= 1 },
    samples: { berth, distribution },
  };
}

export function memoryRow(
  metric: string,
  berth: number[],
  distribution: number[],
  limit?: number,
): SummaryRow {
  const b = median(berth);
  const d = median(distribution);
  const row: SummaryRow = {
    metric,
    kind: 'memory',
    berth: b,
    distribution: d,
    ratio: b / d,
    samples: { berth, distribution },
  };
  if (limit !== undefined) {
    // A ceiling must hold in every iteration, so the worst one decides.
    const worst = Math.max(...berth);
    row.target = { text: `Berth < ${limit / MiB} MiB (max ${(worst / MiB).toFixed(0)})`, met: worst < limit };
  }
  return row;
}

/** Server CPU seconds for a phase; the ratio is Berth/Distribution, lower is better. */
export function cpuRow(metric: string, berth: number[], distribution: number[]): SummaryRow {
  const b = median(berth);
  const d = median(distribution);
  return { metric, kind: 'cpu', berth: b, distribution: d, ratio: b / d, samples: { berth, distribution } };
}

function formatValue(row: SummaryRow, value: number): string {
  switch (row.kind) {
    case 'duration':
      return `${value.toFixed(2)} s  ${((row.bytes ?? 0) / MiB / value).toFixed(1).padStart(6)} MiB/s`;
    case 'rate':
      return `${value.toFixed(value >= 1000 ? 0 : 1)} ${row.unit ?? ''}`;
    case 'memory':
      return `${(value / MiB).toFixed(1)} MiB`;
    case 'cpu':
      return `${value.toFixed(2)} s`;
  }
}

function formatRatio(row: SummaryRow): string {
  const text = `${row.ratio.toFixed(2)}x`;
  return row.kind === 'memory' || row.kind === 'cpu' ? `${text} (lower better)` : text;
}

/** A fixed-width table; the ratio column is Berth/Distribution throughput, so above 1.00 means Berth is faster. */
export function renderTable(rows: SummaryRow[]): string {
  const withTargets = rows.some((row) => row.target);
  const header = ['metric', 'Berth', 'Distribution', 'Berth/Dist'];
  if (withTargets) header.push('target');
  const cells = rows.map((row) => {
    const cell = [
      row.metric,
      formatValue(row, row.berth),
      formatValue(row, row.distribution),
      formatRatio(row),
    ];
    if (withTargets)
      cell.push(row.target ? `${row.target.met ? 'MET   ' : 'MISSED'} ${row.target.text}` : '');
    return cell;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  // Text columns (metric, target) align left, numbers right.
  const line = (c: string[]): string =>
    c
      .map((v, i) => (i === 0 || i === 4 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** A fixed-width table of ready-made cells; columns listed in `left` align left, the others right. */
export function renderColumns(header: string[], rows: string[][], left: number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    header
      .map((_, i) => {
        const value = cells[i] ?? '';
        const width = widths[i] as number;
        return left.includes(i) ? value.padEnd(width) : value.padStart(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

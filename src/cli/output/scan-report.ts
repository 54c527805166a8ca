import type { ScanResult } from '../../scan/findings-report.js';
import type { Finding } from '../../scan/types.js';
import { formatFindingsTable } from './findings-table.js';
import { toSarif } from './sarif-report.js';

export const SCAN_FORMATS = ['table', 'json', 'sarif'] as const;
export type ScanFormat = (typeof SCAN_FORMATS)[number];

/** A scan's report in the chosen format: the terminal table, Berth's JSON, or SARIF 2.1.0. */
export function formatScanReport(format: ScanFormat, result: ScanResult, findings: Finding[]): string {
  if (format === 'json') return `${JSON.stringify({ ...result, findings }, null, 2)}\n`;
  if (format === 'sarif') return `${JSON.stringify(toSarif(result, findings), null, 2)}\n`;
  return formatFindingsTable(result, findings);
}

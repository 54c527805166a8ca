import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';

interface ReportFlags extends AdminFlags {
  project?: string;
  format?: string;
  days?: string;
  staleDays?: string;
  months?: string;
}

function days(flag: string, raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d{1,4}$/.test(raw) || n < 1 || n > max)
    throw new BerthError('USAGE', `${flag} ${raw}: expected a whole number from 1 to ${max}`);
  return n;
}

/** `berth report`: the quarterly health check (storage growth, top repositories, stale images, refused pushes). */
export function registerReportCommand(program: Command): void {
  const report = program
    .command('report')
    .description(
      "a health report from the server's own data: storage growth, top repositories, stale images, refused pushes",
    )
    .option(
      '--project <name>',
      "one project's report (its project-admins may read it); default: the whole registry (system admins)",
    )
    .option('--format <format>', 'text (default) or html (one self-contained file, to stdout)', 'text')
    .option('--days <n>', 'count pushes and pulls over this many days (default 90)')
    .option('--stale-days <n>', 'list images neither pushed nor pulled for this many days (default 90)')
    .option('--months <n>', 'months of storage growth shown (default 6)')
    .addHelpText(
      'after',
      `
Examples:
  $ berth report
  $ berth report --project team --json
  $ berth report --format html > report.html`,
    );
  onAction(addAdminOptions(report), async (flags: ReportFlags) => {
    const format = flags.format ?? 'text';
    if (format !== 'text' && format !== 'html')
      throw new BerthError('USAGE', `--format ${format}: expected text or html`);
    if (flags.json && format === 'html') throw new BerthError('USAGE', '--json and --format html go alone');
    const request = {
      project: flags.project,
      days: days('--days', flags.days, 3660),
      staleDays: days('--stale-days', flags.staleDays, 3660),
      months: days('--months', flags.months, 60),
    };
    const { fetchHealthReport } = await import('../client/health-report.js');
    return withAdminFlags(flags, async (api) => {
      const answer = await fetchHealthReport(api, request);
      if (flags.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      else if (format === 'html') {
        const { healthReportHtml } = await import('./output/health-report-html.js');
        process.stdout.write(healthReportHtml(answer));
      } else {
        const { healthReportText } = await import('./output/health-report-text.js');
        process.stdout.write(healthReportText(answer));
      }
    });
  });
}

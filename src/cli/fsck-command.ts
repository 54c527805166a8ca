import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import type { BlobCheckReport, BlobProblem } from '../jobs/blob-check.js';
import { formatBytes } from '../oci/byte-size.js';
import { runGateCommand } from './gate-command.js';

interface FsckFlags {
  repair?: boolean;
  json?: boolean;
  data?: string;
  config?: string;
}

/** Exit statuses: 0 every blob is sound, 1 problems were found (repaired or not), 2 the check could not run. */
const FSCK_PROBLEMS = 1;

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

function reportText(report: BlobCheckReport, repair: boolean): string {
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

export function registerFsckCommand(program: Command): void {
  program
    .command('fsck')
    .description('re-hash every stored blob; report corrupt or missing ones and the tags they break')
    .option(
      '--repair',
      'move corrupt blobs aside (quarantine/ under the storage root) so a push restores them',
    )
    .option('--json', 'print the report as JSON')
    .option('-d, --data <dir>', 'the Berth data folder (default ./berth-data, or BERTH_DATA)')
    .option('-c, --config <file>', 'YAML configuration file (the one `berth serve` uses)')
    .addHelpText(
      'after',
      `
Exit status: 0 no problems, 1 problems found (also after --repair), 2 the check could not run.
It may run while \`berth serve\` does. The same check runs inside the server when storage.blobCheck.interval
is set.

Examples:
  $ berth fsck --data /var/lib/berth
  $ berth fsck --config /etc/berth/berth.yaml --repair --json`,
    )
    .action((flags: FsckFlags) =>
      runGateCommand(async () => {
        const config = loadConfig({
          ...(flags.config ? { file: flags.config } : {}),
          overrides: { data: flags.data },
        });
        // Loaded here: the stores and their drivers would slow every other command.
        const [{ default: pino }, { runBlobCheck }] = await Promise.all([
          import('pino'),
          import('../main/blob-check-run.js'),
        ]);
        const report = await runBlobCheck(config, {
          repair: flags.repair === true,
          // The report is the output (stdout); the log only says what went wrong, on stderr.
          log: pino({ level: 'error' }, pino.destination(2)),
        });
        process.stdout.write(
          flags.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report, flags.repair === true),
        );
        if (report.problems.length > 0) process.exitCode = FSCK_PROBLEMS;
      }),
    );
}

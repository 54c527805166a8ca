import type { Command } from 'commander';
import { asGateCommand, onAction } from './exit-status.js';
import { fsckReportText } from './output/fsck-report.js';

interface FsckFlags {
  repair?: boolean;
  json?: boolean;
  data?: string;
  config?: string;
}

/** Exit statuses: 0 every blob is sound, 1 problems were found (repaired or not), 2 the check could not run. */
const FSCK_PROBLEMS = 1;

export function registerFsckCommand(program: Command): void {
  const command = program
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
    );
  onAction(command, (flags: FsckFlags) =>
    asGateCommand(async () => {
      // Loaded here: the stores and their drivers would slow every other command.
      const { checkServerBlobs } = await import('../main/blob-check-run.js');
      const report = await checkServerBlobs(
        { configFile: flags.config, data: flags.data },
        flags.repair === true,
      );
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : fsckReportText(report, flags.repair === true),
      );
      return report.problems.length > 0 ? FSCK_PROBLEMS : 0;
    }),
  );
}

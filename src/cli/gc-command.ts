import type { Command } from 'commander';
import type { GcRunJson } from '../client/garbage-collection.js';
import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface GcFlags extends AdminFlags {
  dryRun?: boolean;
  grace?: string;
  untagged?: boolean;
  detach?: boolean;
  status?: boolean;
  history?: boolean;
  cancel?: boolean;
}

function runText(run: GcRunJson): string {
  const verb = run.dryRun ? 'would free' : 'freed';
  const lines = [
    `run ${run.id}: ${run.status}${run.dryRun ? ' (dry run)' : ''}, grace ${run.grace}`,
    `examined ${run.blobsExamined} blobs (${formatBytes(run.bytesExamined)})`,
    `${verb} ${run.blobsFreed} blobs (${formatBytes(run.bytesFreed)})` +
      (run.untagged ? `, ${run.manifestsFreed} untagged manifests` : ''),
  ];
  if (run.uploadsPurged > 0) lines.push(`purged ${run.uploadsPurged} stale upload sessions`);
  if (run.error) lines.push(`error: ${run.error}`);
  return `${lines.join('\n')}\n`;
}

/** `berth gc`: online garbage collection on a Berth server (system admins). */
export function registerGcCommand(program: Command): void {
  const gc = program
    .command('gc')
    .description('free blobs no manifest references (online: pushes and pulls go on), and stale uploads')
    .option('--dry-run', 'report what a run would free, delete nothing')
    .option(
      '--grace <duration>',
      "keep blobs referenced within this long (e.g. 30m, 1h; default: the server's gc.grace)",
    )
    .option('--untagged', 'also delete untagged manifests nothing lists (then their blobs)')
    .option('--detach', 'start the run and return; see it with --status')
    .option('--status', 'show the running or last run')
    .option('--history', 'list past runs, newest first')
    .option('--cancel', 'cancel the running run (it stops after the batch in hand)')
    .addHelpText(
      'after',
      `
Examples:
  $ berth gc --dry-run
  $ berth gc --grace 30m --untagged --json
  $ berth gc --history`,
    );
  onAction(addAdminOptions(gc), async (flags: GcFlags) => {
    const modes = [flags.status, flags.history, flags.cancel].filter(Boolean).length;
    if (modes > 1) throw new BerthError('USAGE', '--status, --history and --cancel go alone');
    if (flags.grace !== undefined) {
      // Loaded here, not at the top: `berth --version` loads no more than the command definitions.
      const { parseDuration } = await import('../oci/duration.js');
      try {
        parseDuration(flags.grace);
      } catch (error) {
        throw new BerthError('USAGE', `--grace: ${(error as Error).message}`);
      }
    }
    const client = await import('../client/garbage-collection.js');
    let failed = false;
    await withAdminFlags(flags, async (api) => {
      if (flags.status) {
        const answer = await client.gcStatus(api);
        print(flags, answer, (a) => (a.run ? runText(a.run) : 'no garbage collection run yet\n'));
        return;
      }
      if (flags.history) {
        const answer = await client.gcHistory(api, 50);
        print(flags, answer, (a) =>
          formatTable(
            ['ID', 'STARTED', 'STATUS', 'TRIGGER', 'DRY RUN', 'BLOBS FREED', 'BYTES FREED'],
            a.runs.map((r) => [
              String(r.id),
              r.startedAt,
              r.status,
              r.trigger,
              r.dryRun ? 'yes' : 'no',
              String(r.blobsFreed),
              formatBytes(r.bytesFreed),
            ]),
          ),
        );
        return;
      }
      if (flags.cancel) {
        const answer = await client.cancelGc(api);
        print(flags, answer, (a) => (a.cancelled ? 'cancelled\n' : 'no run to cancel\n'));
        return;
      }
      const run = await client.runGarbageCollection(
        api,
        { dryRun: flags.dryRun === true, untagged: flags.untagged === true, grace: flags.grace },
        {
          detach: flags.detach === true,
          onProgress: (r) => {
            if (!flags.json && process.stderr.isTTY)
              process.stderr.write(`\rexamined ${r.blobsExamined} blobs, freed ${r.blobsFreed}   `);
          },
        },
      );
      if (!flags.json && process.stderr.isTTY && !flags.detach) process.stderr.write('\n');
      failed = run.status === 'failed' || run.status === 'cancelled';
      print(flags, run, runText);
    });
    return failed ? 1 : 0;
  });
}

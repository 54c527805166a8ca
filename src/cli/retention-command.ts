import type { Command } from 'commander';
import type { RetentionRunJson } from '../client/retention-api.js';
import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

const shortDigest = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** The run as a diff: every tag kept or deleted and why, expired untagged manifests, guards, bytes freed. */
function formatRun(run: RetentionRunJson): string {
  const result = run.result;
  const lines: string[] = [];
  if (result && result.tags.length > 0) {
    lines.push(
      formatTable(
        ['REPOSITORY', 'TAG', 'DIGEST', 'ACTION', 'WHY'],
        result.tags.map((d) => [d.repository, d.tag ?? '', shortDigest(d.digest), d.action ?? '', d.reason]),
      ).trimEnd(),
    );
  }
  for (const u of result?.untagged ?? [])
    lines.push(`untagged ${u.repository}@${u.digest}: delete (${u.reason})`);
  for (const r of result?.refused ?? []) lines.push(`refused ${r.repository}: ${r.reason}`);
  for (const s of result?.skipped ?? [])
    lines.push(`skipped ${s.repository}${s.tag ? `:${s.tag}` : `@${s.digest}`}: ${s.reason}`);
  const tagDeletes = result?.tags.filter((d) => d.action === 'delete').length ?? 0;
  const manifestDeletes = result?.untagged.length ?? 0;
  const kept = (result?.tags.filter((d) => d.action === 'keep').length ?? 0) + (result?.keptNotListed ?? 0);
  if (result?.keptNotListed) lines.push(`(${result.keptNotListed} more kept tags not listed)`);
  const freed = `${formatBytes(run.bytesFreed)} freed once garbage collection runs`;
  lines.push(
    run.dryRun
      ? `Dry run: would delete ${tagDeletes} tags and ${manifestDeletes} untagged manifests, keep ${kept} tags; ${freed}`
      : `Deleted ${run.deletedTags} tags and ${run.deletedManifests} untagged manifests, kept ${kept} tags; ${freed}`,
  );
  return `${lines.join('\n')}\n`;
}

/** `berth retention set|show|rm|run|history`: a project's retention policy and its runs. */
export function registerRetentionCommand(program: Command): void {
  const retention = program
    .command('retention')
    .description("a project's retention policy: which tags to keep, what a run deletes, when it runs")
    .addHelpText(
      'after',
      `
Examples:
  $ berth retention set team --file policy.yaml
  $ berth retention run team --dry-run
  $ berth retention history team`,
    );

  const set = retention
    .command('set')
    .argument('<project>', 'the project')
    .requiredOption('--file <path>', 'the policy, YAML (see the README: Retention)')
    .description("set a project's retention policy (system admins, the project's project-admins)")
    .addHelpText('after', '\nExample:\n  $ berth retention set team --file policy.yaml');
  onAction(addAdminOptions(set), async (project: string, flags: AdminFlags & { file: string }) => {
    const { setRetentionPolicy } = await import('../client/retention-api.js');
    return withAdminFlags(flags, async (api) => {
      const answer = await setRetentionPolicy(api, project, flags.file);
      print(flags, answer, (a) => `Retention policy of ${a.project} set (${a.policy.rules.length} rules)\n`);
    });
  });

  const show = retention
    .command('show')
    .argument('<project>', 'the project')
    .description("show a project's retention policy")
    .addHelpText('after', '\nExample:\n  $ berth retention show team --json');
  onAction(addAdminOptions(show), async (project: string, flags: AdminFlags) => {
    const { getRetentionPolicy } = await import('../client/retention-api.js');
    return withAdminFlags(flags, async (api) => {
      const answer = await getRetentionPolicy(api, project);
      print(flags, answer, (a) =>
        [
          `Retention policy of ${a.project}, set by ${a.updatedBy ?? '?'} at ${a.updatedAt ?? '?'}`,
          ...(a.nextRun ? [`next run: ${a.nextRun}`] : []),
          JSON.stringify(a.policy, null, 2),
          '',
        ].join('\n'),
      );
    });
  });

  const rm = retention
    .command('rm')
    .argument('<project>', 'the project')
    .description("remove a project's retention policy (and its schedule)")
    .addHelpText('after', '\nExample:\n  $ berth retention rm team');
  onAction(addAdminOptions(rm), async (project: string, flags: AdminFlags) => {
    const { removeRetentionPolicy } = await import('../client/retention-api.js');
    return withAdminFlags(flags, async (api) => {
      await removeRetentionPolicy(api, project);
      print(flags, { project, removed: true }, () => `Retention policy of ${project} removed\n`);
    });
  });

  const run = retention
    .command('run')
    .argument('<project>', 'the project')
    .option('--dry-run', 'show what would be kept and deleted, and why; delete nothing')
    .option('--force', "lift the guards (share of a repository's tags, its last tag)")
    .description('apply the retention policy now')
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth retention run team --dry-run\n  $ berth retention run team --json',
    );
  onAction(
    addAdminOptions(run),
    async (project: string, flags: AdminFlags & { dryRun?: boolean; force?: boolean }) => {
      const { runRetentionNow } = await import('../client/retention-api.js');
      return withAdminFlags(flags, async (api) => {
        const answer = await runRetentionNow(api, project, {
          dryRun: flags.dryRun === true,
          force: flags.force === true,
        });
        print(flags, answer, formatRun);
        if (answer.status !== 'done')
          throw new BerthError(
            'REGISTRY_ERROR',
            `retention run failed: ${answer.result?.error ?? answer.status}`,
          );
      });
    },
  );

  const history = retention
    .command('history')
    .argument('<project>', 'the project')
    .option('--limit <n>', 'how many runs, newest first', '20')
    .description("a project's retention runs")
    .addHelpText('after', '\nExample:\n  $ berth retention history team');
  onAction(addAdminOptions(history), async (project: string, flags: AdminFlags & { limit: string }) => {
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200)
      throw new BerthError('USAGE', '--limit: a whole number from 1 to 200');
    const { retentionHistory } = await import('../client/retention-api.js');
    return withAdminFlags(flags, async (api) => {
      const answer = await retentionHistory(api, project, limit);
      print(flags, answer, (a) =>
        formatTable(
          ['ID', 'STARTED', 'TRIGGER', 'BY', 'KIND', 'STATUS', 'TAGS', 'MANIFESTS', 'FREED'],
          a.runs.map((r) => [
            String(r.id),
            r.startedAt,
            r.trigger,
            r.actor,
            r.dryRun ? 'dry run' : r.forced ? 'forced' : 'run',
            r.status,
            String(r.deletedTags),
            String(r.deletedManifests),
            formatBytes(r.bytesFreed),
          ]),
        ),
      );
    });
  });
}

import type { Command } from 'commander';
import type { StorageUsageJson } from '../client/storage-admin.js';
import { formatBytes } from '../oci/byte-size.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

function usageText(usage: StorageUsageJson): string {
  const rows: string[][] = [];
  for (const project of usage.projects) {
    rows.push([
      project.project,
      formatBytes(project.logicalBytes),
      formatBytes(project.uniqueBytes),
      String(project.uniqueBlobs),
      String(project.uploads),
    ]);
    for (const repo of project.repositories)
      rows.push([
        `  ${repo.repository}`,
        formatBytes(repo.logicalBytes),
        '',
        String(repo.blobs),
        String(repo.uploads),
      ]);
  }
  let text = formatTable(['PROJECT / REPOSITORY', 'LOGICAL', 'UNIQUE', 'BLOBS', 'UPLOADS'], rows);
  if (usage.store)
    text += `store: ${usage.store.blobs} blobs, ${formatBytes(usage.store.bytes)} (shared blobs count once; blobs nothing references wait for \`berth gc\`)\n`;
  return text;
}

/** `berth storage usage`: what each project and repository stores, as the server's metadata says. */
export function registerStorageCommand(program: Command): void {
  const storage = program.command('storage').description('storage used on a Berth server');
  const usage = storage
    .command('usage')
    .description(
      'bytes per project and repository: logical (a blob counted in every repository that links it) and unique (each blob once per project), blob counts, open upload sessions',
    )
    .option('--project <name>', 'only this project')
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth storage usage\n  $ berth storage usage --project team --json',
    );
  onAction(addAdminOptions(usage), async (flags: AdminFlags & { project?: string }) => {
    const { storageUsage } = await import('../client/storage-admin.js');
    return withAdminFlags(flags, async (api) => {
      print(flags, await storageUsage(api, flags.project), usageText);
    });
  });
}

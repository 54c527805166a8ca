import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface RuleJson {
  id: number;
  project: string;
  repository: string;
  tag: string;
  kind: 'include' | 'exclude';
  createdAt: string;
}

/** `berth immutability add|list|rm`: a project's tag immutability rules. */
export function registerImmutabilityCommand(program: Command): void {
  const immutability = program
    .command('immutability')
    .description("manage a project's immutable tags (system admins and the project's project-admins)")
    .addHelpText(
      'after',
      `
A tag is immutable when an include rule matches it and no exclude rule does: a push may not move it to
another manifest (the same manifest again is fine) and it cannot be deleted. --repository is a glob over
the path below the project ("**" every repository, "app", "team/*"); --tag is a pattern ("v*", "release-?").

Examples:
  $ berth immutability add team --repository '**' --tag 'v*'
  $ berth immutability add team --repository 'scratch/**' --tag '*' --exclude
  $ berth immutability list team
  $ berth immutability rm team 3`,
    );

  const add = immutability
    .command('add')
    .argument('<project>', 'the project')
    .requiredOption('--repository <glob>', 'repositories below the project the rule covers')
    .requiredOption('--tag <pattern>', 'tags it covers: * any characters, ? one')
    .option('--exclude', 'exempt the tags it matches from the include rules')
    .description('add an immutability rule');
  onAction(
    addAdminOptions(add),
    async (project: string, flags: AdminFlags & { repository: string; tag: string; exclude?: boolean }) => {
      return withAdminFlags(flags, async (client) => {
        const rule = await client.request<RuleJson>('POST', `projects/${segment(project)}/immutability`, {
          repository: flags.repository,
          tag: flags.tag,
          kind: flags.exclude ? 'exclude' : 'include',
        });
        print(
          flags,
          rule,
          (r) => `Rule ${r.id} added to ${r.project}: ${r.kind} repository ${r.repository}, tag ${r.tag}\n`,
        );
      });
    },
  );

  const list = immutability
    .command('list')
    .argument('<project>', 'the project')
    .description("list a project's immutability rules");
  onAction(addAdminOptions(list), async (project: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ rules: RuleJson[] }>(
        'GET',
        `projects/${segment(project)}/immutability`,
      );
      print(flags, answer, (a) =>
        formatTable(
          ['ID', 'KIND', 'REPOSITORY', 'TAG', 'CREATED'],
          a.rules.map((r) => [String(r.id), r.kind, r.repository, r.tag, r.createdAt]),
        ),
      );
    });
  });

  const rm = immutability
    .command('rm')
    .argument('<project>', 'the project')
    .argument('<id>', 'the rule, as list shows it')
    .description('remove an immutability rule');
  onAction(addAdminOptions(rm), async (project: string, id: string, flags: AdminFlags) => {
    if (!/^[1-9][0-9]{0,15}$/.test(id))
      throw new BerthError('USAGE', `rule id must be a number, not "${id}"`);
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `projects/${segment(project)}/immutability/${id}`);
      print(flags, { project, id: Number(id), deleted: true }, () => `Rule ${id} removed from ${project}\n`);
    });
  });
}

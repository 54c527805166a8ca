import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface TrustRuleJson {
  id: number;
  project: string;
  repository: string;
  publicKey: string;
  createdAt: string;
}

const path = (project: string) => `projects/${segment(project)}/trust`;

/** `berth trust add|list|rm`: which signing keys a pull from a project's repositories needs (issue 14). */
export function registerTrustCommand(program: Command): void {
  const trust = program
    .command('trust')
    .description(
      "a project's trust policy: pulls need a valid signature by these keys (project-admins and system admins)",
    )
    .addHelpText(
      'after',
      `
A pull (manifest GET or HEAD) from a repository matching a rule is refused with DENIED unless the image has
a valid cosign signature (berth sign, cosign sign) by the rule's key. Signatures, SBOMs and attestations are
always pullable.

Examples:
  $ berth trust add team --repository 'team/prod/*' --key cosign.pub
  $ berth trust list team
  $ berth trust rm team 3`,
    );

  const add = trust
    .command('add')
    .argument('<project>', 'the project, such as "team" for team/app')
    .requiredOption('--repository <glob>', 'the repositories the rule covers, such as "team/*"')
    .requiredOption('--key <pubkey>', 'the public key file (PEM, as written by berth key generate)')
    .description('require signatures by a key for pulls from matching repositories');
  onAction(
    addAdminOptions(add),
    async (project: string, flags: AdminFlags & { repository: string; key: string }) => {
      let publicKey: string;
      try {
        publicKey = await readFile(flags.key, 'utf8');
      } catch (error) {
        throw new BerthError('KEY_INVALID', `cannot read the key ${flags.key}: ${(error as Error).message}`);
      }
      return withAdminFlags(flags, async (client) => {
        const rule = await client.request<TrustRuleJson>('POST', path(project), {
          repository: flags.repository,
          publicKey,
        });
        print(flags, rule, (r) => `Trust rule ${r.id} added to project ${r.project}: ${r.repository}\n`);
      });
    },
  );

  const list = trust
    .command('list')
    .argument('<project>', 'the project')
    .description("list the project's trust rules");
  onAction(addAdminOptions(list), async (project: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ rules: TrustRuleJson[] }>('GET', path(project));
      print(flags, answer, (a) =>
        formatTable(
          ['ID', 'REPOSITORY', 'CREATED'],
          a.rules.map((r) => [String(r.id), r.repository, r.createdAt]),
        ),
      );
    });
  });

  const rm = trust
    .command('rm')
    .argument('<project>', 'the project')
    .argument('<id>', 'the rule id, from berth trust list')
    .description('remove a trust rule');
  onAction(addAdminOptions(rm), async (project: string, id: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `${path(project)}/${segment(id)}`);
      print(
        flags,
        { project, id: Number(id), removed: true },
        () => `Trust rule ${id} of ${project} removed\n`,
      );
    });
  });
}

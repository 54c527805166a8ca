import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';

interface AdmissionJson {
  project: string;
  policy: string;
  updatedAt: string;
  updatedBy: string;
}

const path = (project: string) => `projects/${segment(project)}/admission`;

/** `berth admission set|show|rm PROJECT`: the admission policy the server applies to every push (issue 14). */
export function registerAdmissionCommand(program: Command): void {
  const admission = program
    .command('admission')
    .description(
      "a project's admission policy, checked by the server on every push (project-admins and system admins)",
    )
    .addHelpText(
      'after',
      `
The policy has the format of berth lint --policy (see docs/policy.md). A manifest push whose image fails it
is refused with DENIED and the findings, and nothing is tagged. The server checks labels, annotations,
naming and layer sizes; file and vulnerability rules are checked by berth push --policy only.

Examples:
  $ berth admission set team --policy policy.yaml
  $ berth admission show team
  $ berth admission rm team`,
    );

  const set = admission
    .command('set')
    .argument('<project>', 'the project, such as "team" for team/app')
    .requiredOption('--policy <file>', 'the policy file (YAML, as for berth lint --policy)')
    .description("set or replace the project's admission policy");
  onAction(addAdminOptions(set), async (project: string, flags: AdminFlags & { policy: string }) => {
    // The server checks the policy and answers INVALID with the key and the problem.
    let text: string;
    try {
      text = await readFile(flags.policy, 'utf8');
    } catch (error) {
      throw new BerthError(
        'POLICY_INVALID',
        `invalid policy ${flags.policy}: cannot read the file: ${(error as Error).message}`,
      );
    }
    return withAdminFlags(flags, async (client) => {
      const stored = await client.request<AdmissionJson>('PUT', path(project), { policy: text });
      print(flags, stored, (a) => `Admission policy of project ${a.project} set\n`);
    });
  });

  const show = admission
    .command('show')
    .argument('<project>', 'the project')
    .description("print the project's admission policy");
  onAction(addAdminOptions(show), async (project: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const stored = await client.request<AdmissionJson>('GET', path(project));
      print(
        flags,
        stored,
        (a) =>
          `# admission policy of project ${a.project}, set by ${a.updatedBy} at ${a.updatedAt}\n${a.policy.endsWith('\n') ? a.policy : `${a.policy}\n`}`,
      );
    });
  });

  const rm = admission
    .command('rm')
    .argument('<project>', 'the project')
    .description("remove the project's admission policy");
  onAction(addAdminOptions(rm), async (project: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', path(project));
      print(flags, { project, removed: true }, () => `Admission policy of project ${project} removed\n`);
    });
  });
}

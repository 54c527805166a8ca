import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import {
  type AdminFlags,
  addAdminOptions,
  collect,
  type PolicyJson,
  parsePolicy,
  parseSubjectKind,
  print,
  withAdminFlags,
} from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface RoleJson {
  name: string;
  policies: PolicyJson[];
  bindings: { kind: string; subject: string }[];
  createdAt: string;
}

interface RolePutFlags extends AdminFlags {
  policy?: string[];
  file?: string;
}

/** The roles of a roles file (`roles: [{name, policies: [{repo, actions}]}]`), as the server loads them. */
async function readRolesFile(path: string): Promise<{ name: string; policies: unknown[] }[]> {
  // Loaded here: only this command reads YAML, and every command starts faster without it.
  const [{ default: YAML }, { z }] = await Promise.all([import('yaml'), import('zod')]);
  // The shape only: names, globs and actions are checked by the server, which says which field is wrong.
  const rolesFileSchema = z.object({
    roles: z.array(z.object({ name: z.string(), policies: z.array(z.unknown()) })),
  });
  let parsed: unknown;
  try {
    parsed = YAML.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new BerthError('USAGE', `--file ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = rolesFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BerthError(
      'USAGE',
      `--file ${path}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}; expected roles: [{name, policies: [{repo, actions}]}]`,
    );
  }
  return result.data.roles;
}

function bindingPath(role: string, kind: string, name: string): string {
  const subjectKind = parseSubjectKind(kind);
  const subject = subjectKind === 'robot' && !name.startsWith('robot$') ? `robot$${name}` : name;
  return `roles/${segment(role)}/bindings/${subjectKind}/${segment(subject)}`;
}

function policiesText(policies: PolicyJson[]): string {
  return policies.map((p) => `${p.repo}:${p.actions.join(',')}`).join(' ');
}

/** `berth role put|list|rm|bind|unbind`: policy roles over repository globs, and who holds them. */
export function registerRoleCommand(program: Command): void {
  const role = program
    .command('role')
    .description('manage policy roles (repository globs and actions) and their bindings (system admins)')
    .addHelpText(
      'after',
      `
Globs: "*" matches within one path segment (team/* is team/app, not team/a/b), "**" across segments.
Examples:
  $ berth role put readers --policy 'team/*:pull' --policy 'base/**:pull'
  $ berth role put --file roles.yaml
  $ berth role bind readers user alice`,
    );

  const put = role
    .command('put')
    .argument('[name]', 'the role (with --file: only this role of the file)')
    .description('create or replace a role, from --policy options or a roles file')
    .option('--policy <glob:actions>', "a policy: 'team/*:pull,push' (repeatable)", collect)
    .option('--file <roles.yaml>', 'a roles file: roles: [{name, policies: [{repo, actions}]}]')
    .addHelpText(
      'after',
      `
Examples:
  $ berth role put developer --policy 'team/*:pull,push'
  $ berth role put --file roles.yaml
roles.yaml:
  roles:
    - name: developer
      policies:
        - repo: team/*
          actions: ["pull"]`,
    );
  onAction(addAdminOptions(put), async (name: string | undefined, flags: RolePutFlags) => {
    const policies = flags.policy ?? [];
    let roles: { name: string; policies: unknown[] }[];
    if (flags.file) {
      if (policies.length > 0) throw new BerthError('USAGE', '--policy and --file exclude each other');
      roles = await readRolesFile(flags.file);
      if (name !== undefined) {
        roles = roles.filter((r) => r.name === name);
        if (roles.length === 0)
          throw new BerthError('USAGE', `--file ${flags.file}: no role named "${name}"`);
      }
      if (roles.length === 0) throw new BerthError('USAGE', `--file ${flags.file}: no roles`);
    } else {
      if (name === undefined) throw new BerthError('USAGE', 'name the role, or give --file');
      if (policies.length === 0) throw new BerthError('USAGE', "give --policy 'GLOB:ACTIONS' or --file");
      roles = [{ name, policies: policies.map((p) => parsePolicy(p, '--policy')) }];
    }
    return withAdminFlags(flags, async (client) => {
      const saved = await client.putRoles<RoleJson>(roles);
      print(flags, flags.file ? { roles: saved } : saved[0], () =>
        saved.map((r) => `Role ${r.name} saved: ${policiesText(r.policies) || '(no policies)'}\n`).join(''),
      );
    });
  });

  const list = role
    .command('list')
    .description('list roles with their policies and bindings')
    .addHelpText('after', '\nExample:\n  $ berth role list --json');
  onAction(addAdminOptions(list), async (flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ roles: RoleJson[] }>('GET', 'roles');
      print(flags, answer, (a) =>
        formatTable(
          ['NAME', 'POLICIES', 'BOUND TO'],
          a.roles.map((r) => [
            r.name,
            policiesText(r.policies) || '-',
            r.bindings.map((b) => `${b.kind}:${b.subject}`).join(' ') || '-',
          ]),
        ),
      );
    });
  });

  const rm = role
    .command('rm')
    .argument('<name>', 'the role')
    .description('delete a role and its bindings')
    .addHelpText('after', '\nExample:\n  $ berth role rm readers');
  onAction(addAdminOptions(rm), async (name: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `roles/${segment(name)}`);
      print(flags, { role: name, deleted: true }, () => `Role ${name} deleted\n`);
    });
  });

  const bind = role
    .command('bind')
    .argument('<role>', 'the role')
    .argument('<kind>', 'user or robot')
    .argument('<name>', 'the user, or the robot (NAME or robot$NAME)')
    .description('give a role to a user or robot')
    .addHelpText('after', '\nExample:\n  $ berth role bind readers robot ci');
  onAction(addAdminOptions(bind), async (roleName: string, kind: string, name: string, flags: AdminFlags) => {
    const path = bindingPath(roleName, kind, name);
    return withAdminFlags(flags, async (client) => {
      const bound = await client.request<{ role: string; kind: string; subject: string }>('PUT', path);
      print(flags, bound, (b) => `Role ${b.role} bound to ${b.kind} ${b.subject}\n`);
    });
  });

  const unbind = role
    .command('unbind')
    .argument('<role>', 'the role')
    .argument('<kind>', 'user or robot')
    .argument('<name>', 'the user or robot')
    .description('take a role away from a user or robot')
    .addHelpText('after', '\nExample:\n  $ berth role unbind readers user alice');
  onAction(
    addAdminOptions(unbind),
    async (roleName: string, kind: string, name: string, flags: AdminFlags) => {
      const path = bindingPath(roleName, kind, name);
      return withAdminFlags(flags, async (client) => {
        await client.request('DELETE', path);
        print(
          flags,
          { role: roleName, kind, subject: name, unbound: true },
          () => `Role ${roleName} unbound from ${kind} ${name}\n`,
        );
      });
    },
  );
}

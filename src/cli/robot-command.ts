import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import {
  type AdminFlags,
  addAdminOptions,
  collect,
  type PolicyJson,
  parseActions,
  parsePolicy,
  print,
  withAdminFlags,
} from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface RobotJson {
  name: string;
  description: string;
  permissions: PolicyJson[];
  expiresAt: string | null;
  expired: boolean;
  createdBy: string;
  createdAt: string;
  secret?: string;
}

interface RobotAddFlags extends AdminFlags {
  permission?: string[];
  project?: string[];
  actions?: string;
  expires?: string;
  description?: string;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/** `--expires`: a duration (`90m`, `12h`, `30d`, `2w`, seconds when bare) or an ISO date. */
function parseExpiry(raw: string): { expiresIn: number } | { expiresAt: string } {
  const duration = /^(\d+)([smhdw]?)$/.exec(raw.trim());
  if (duration) {
    const seconds = Number(duration[1]) * (UNIT_SECONDS[duration[2] || 's'] ?? 1);
    if (seconds <= 0) throw new BerthError('USAGE', '--expires: the duration must be above zero');
    return { expiresIn: seconds };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw)))
    return { expiresAt: new Date(raw).toISOString() };
  throw new BerthError(
    'USAGE',
    `--expires: expected a duration (30d, 12h, 90m) or an ISO date, got "${raw}"`,
  );
}

function policiesText(policies: PolicyJson[]): string {
  return policies.map((p) => `${p.repo}:${p.actions.join(',')}`).join(' ');
}

/** `berth robot add|list|rm`: robot accounts for CI, with scoped and expiring secrets. */
export function registerRobotCommand(program: Command): void {
  const robot = program
    .command('robot')
    .description('manage robot accounts: scoped, expiring credentials for CI (system admins)')
    .addHelpText(
      'after',
      `
Examples:
  $ berth robot add ci --permission 'team/*:pull,push' --expires 30d
  $ berth robot list
  $ berth robot rm ci`,
    );

  const add = robot
    .command('add')
    .argument('<name>', 'the robot is named robot$NAME')
    .description('create a robot account; its secret is printed once')
    .option('--permission <glob:actions>', "what it may do: 'team/*:pull,push' (repeatable)", collect)
    .option(
      '--project <name>',
      'everything in a project (PROJECT/**) with --actions (repeatable)',
      collect,
      [],
    )
    .option('--actions <list>', 'actions for --project: pull, push, delete, comma-separated', 'pull')
    .option('--expires <when>', 'a duration (30d, 12h, 90m) or an ISO date (default: never)')
    .option('--description <text>', 'what the robot is for')
    .addHelpText(
      'after',
      `
Examples:
  $ berth robot add ci --permission 'team/*:pull,push' --expires 30d --description 'team CI'
  $ berth robot add deployer --project prod --actions pull --expires 2030-01-01`,
    );
  onAction(addAdminOptions(add), async (name: string, flags: RobotAddFlags) => {
    const permissions = (flags.permission ?? []).map((p) => parsePolicy(p, '--permission'));
    const projects = flags.project ?? [];
    if (permissions.length === 0 && projects.length === 0)
      throw new BerthError('USAGE', 'say what the robot may do: --permission GLOB:ACTIONS or --project NAME');
    const body = {
      name,
      ...(permissions.length > 0 ? { permissions } : {}),
      ...(projects.length > 0
        ? { projects, actions: parseActions(flags.actions ?? 'pull', '--actions') }
        : {}),
      ...(flags.expires !== undefined ? parseExpiry(flags.expires) : {}),
      ...(flags.description !== undefined ? { description: flags.description } : {}),
    };
    return withAdminFlags(flags, async (client) => {
      const created = await client.request<RobotJson>('POST', 'robots', body);
      print(flags, created, (r) =>
        [
          `Robot account ${r.name} created (${r.expiresAt ? `expires ${r.expiresAt}` : 'never expires'})`,
          `Permissions: ${policiesText(r.permissions)}`,
          `Secret (shown once, store it now): ${r.secret}`,
          'Log in with:',
          `  echo "$SECRET" | docker login ${client.host} -u '${r.name}' --password-stdin`,
          `  echo "$SECRET" | berth login ${client.host} -u '${r.name}' --password-stdin`,
          '',
        ].join('\n'),
      );
    });
  });

  const list = robot
    .command('list')
    .description('list robot accounts (never their secrets)')
    .addHelpText('after', '\nExample:\n  $ berth robot list --json');
  onAction(addAdminOptions(list), async (flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ robots: RobotJson[] }>('GET', 'robots');
      print(flags, answer, (a) =>
        formatTable(
          ['NAME', 'EXPIRES', 'PERMISSIONS', 'DESCRIPTION'],
          a.robots.map((r) => [
            r.name,
            r.expired ? 'expired' : (r.expiresAt ?? 'never'),
            policiesText(r.permissions),
            r.description,
          ]),
        ),
      );
    });
  });

  const rm = robot
    .command('rm')
    .argument('<name>', 'NAME or robot$NAME')
    .description('revoke a robot account: its secret and its tokens stop working')
    .addHelpText('after', "\nExample:\n  $ berth robot rm ci        # or 'robot$ci'");
  onAction(addAdminOptions(rm), async (name: string, flags: AdminFlags) => {
    const full = name.startsWith('robot$') ? name : `robot$${name}`;
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `robots/${segment(full)}`);
      print(flags, { robot: full, revoked: true }, () => `Robot account ${full} revoked\n`);
    });
  });
}

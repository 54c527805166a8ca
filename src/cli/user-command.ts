import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, readStdinLines, withAdminFlags } from './admin-options.js';
import { parseBool } from './client-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';
import { promptLine } from './prompt.js';

interface UserJson {
  name: string;
  admin: boolean;
  createdAt: string;
  password?: string;
}

interface UserFlags extends AdminFlags {
  admin?: boolean;
}

const NEW_PASSWORD_STDIN =
  'read the new password from standard input (with --username too: your own password on the first line, the new one on the second)';

/**
 * Standard input for commands that set a password: the new password, preceded by the caller's own when the
 * caller logs in with --username. The admin client is then told not to read stdin again.
 */
async function passwordsFromStdin(flags: AdminFlags): Promise<{ own?: string; next?: string }> {
  if (!flags.passwordStdin) return {};
  const lines = await readStdinLines();
  const [own, next] = flags.username ? lines : [undefined, lines[0]];
  if (!next) throw new BerthError('USAGE', 'no new password on standard input');
  return { ...(own !== undefined ? { own } : {}), next };
}

async function promptNewPassword(name: string): Promise<string> {
  if (!process.stdin.isTTY) throw new BerthError('USAGE', 'a new password is needed: --password-stdin');
  const first = await promptLine(`New password for ${name}: `, true);
  const second = await promptLine('Again: ', true);
  if (first !== second) throw new BerthError('USAGE', 'the two passwords differ');
  return first;
}

/** `berth user add|list|passwd|rm|admin`: users of a Berth server, through its admin API. */
export function registerUserCommand(program: Command): void {
  const user = program
    .command('user')
    .description('manage the users of a Berth server (system admins; a user may change their own password)')
    .addHelpText(
      'after',
      `
Examples:
  $ berth login registry.example.com -u admin
  $ berth user add alice --server https://registry.example.com
  $ berth user list --server https://registry.example.com`,
    );

  const add = user
    .command('add')
    .argument('<name>', 'lower-case letters, digits, ".", "_", "-"')
    .description('create a user; without --password-stdin a password is generated and printed once')
    .option('--admin', 'make the user a system admin')
    .option('--password-stdin', NEW_PASSWORD_STDIN)
    .addHelpText(
      'after',
      `
Examples:
  $ berth user add alice                         # prints a generated password once
  $ echo "$PASSWORD" | berth user add ci-admin --admin --password-stdin`,
    );
  onAction(addAdminOptions(add, { passwordStdin: false }), async (name: string, flags: UserFlags) => {
    const { own, next } = await passwordsFromStdin(flags);
    return withAdminFlags(
      { ...flags, passwordStdin: false },
      async (client) => {
        const created = await client.request<UserJson>('POST', 'users', {
          name,
          admin: flags.admin ?? false,
          ...(next !== undefined ? { password: next } : {}),
        });
        print(flags, created, (u) => {
          let text = `User ${u.name} created${u.admin ? ' (system admin)' : ''}\n`;
          if (u.password) text += `Password (shown once, store it now): ${u.password}\n`;
          return text;
        });
      },
      own,
    );
  });

  const list = user
    .command('list')
    .description('list users')
    .addHelpText('after', '\nExample:\n  $ berth user list --json');
  onAction(addAdminOptions(list), async (flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ users: UserJson[] }>('GET', 'users');
      print(flags, answer, (a) =>
        formatTable(
          ['NAME', 'ADMIN', 'CREATED'],
          a.users.map((u) => [u.name, u.admin ? 'yes' : 'no', u.createdAt]),
        ),
      );
    });
  });

  const passwd = user
    .command('passwd')
    .argument('<name>', 'the user')
    .description("set a user's password (an admin for anyone; a user for themself)")
    .option('--password-stdin', NEW_PASSWORD_STDIN)
    .addHelpText(
      'after',
      `
Examples:
  $ berth user passwd alice                       # asks for the new password twice
  $ printf '%s\\n%s\\n' "$OLD" "$NEW" | berth user passwd alice -u alice --password-stdin`,
    );
  onAction(addAdminOptions(passwd, { passwordStdin: false }), async (name: string, flags: AdminFlags) => {
    const { own, next } = await passwordsFromStdin(flags);
    return withAdminFlags(
      { ...flags, passwordStdin: false },
      async (client) => {
        const password = next ?? (await promptNewPassword(name));
        const { storedLoginUpdated: location } = await client.changePassword(name, password);
        print(
          flags,
          { user: name, passwordChanged: true, ...(location ? { storedLoginUpdated: location } : {}) },
          () => `Password of ${name} changed${location ? ` (stored login in ${location} updated)` : ''}\n`,
        );
      },
      own,
    );
  });

  const rm = user
    .command('rm')
    .argument('<name>', 'the user')
    .description('delete a user, with their project memberships and role bindings')
    .addHelpText('after', '\nExample:\n  $ berth user rm alice');
  onAction(addAdminOptions(rm), async (name: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `users/${segment(name)}`);
      print(flags, { user: name, deleted: true }, () => `User ${name} deleted\n`);
    });
  });

  const admin = user
    .command('admin')
    .argument('<name>', 'the user')
    .argument('<admin>', 'true or false')
    .description('make a user a system admin, or no longer one (the last admin stays)')
    .addHelpText('after', '\nExample:\n  $ berth user admin alice true');
  onAction(addAdminOptions(admin), async (name: string, raw: string, flags: AdminFlags) => {
    const value = parseBool(raw, 'admin') as boolean;
    return withAdminFlags(flags, async (client) => {
      const changed = await client.request<UserJson>('PUT', `users/${segment(name)}/admin`, { admin: value });
      print(flags, changed, (u) => `User ${u.name} is ${u.admin ? 'now' : 'no longer'} a system admin\n`);
    });
  });
}

import type { Command } from 'commander';
import type { Credentials } from '../client/credentials/credentials.js';
import { BerthError } from '../oci/errors.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { onAction } from './exit-status.js';
import { promptLine } from './prompt.js';

interface LoginFlags extends ClientFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

const DEFAULT_HOST = 'docker.io';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerLoginCommands(program: Command): void {
  const login = program
    .command('login')
    .argument('[host]', 'registry host[:port]', DEFAULT_HOST)
    .description(
      'log in to a registry and store the credentials where Docker would (credential helper or config.json)',
    )
    .option('-u, --username <name>', 'user name')
    .option(
      '-p, --password <password>',
      'password (prefer --password-stdin: this one shows in the process list)',
    )
    .option('--password-stdin', 'read the password from standard input')
    .addHelpText(
      'after',
      `
Examples:
  $ echo "$TOKEN" | berth login registry.example.com --username ci-bot --password-stdin
  $ berth login localhost:5000 -u admin
Credentials go to the credential helper configured in ~/.docker/config.json (credHelpers, credsStore),
otherwise into config.json itself; with --authfile into that auth.json.
A login to a Berth also makes it the server of admin commands (berth user, robot, project, role, audit,
repos) until the next login to a Berth; --server and BERTH_SERVER still choose another.`,
    );
  onAction(addClientOptions(login), async (host: string, flags: LoginFlags) => {
    if (flags.password && flags.passwordStdin)
      throw new BerthError('USAGE', '--password and --password-stdin exclude each other');
    const username = flags.username ?? (process.stdin.isTTY ? await promptLine('Username: ') : undefined);
    if (!username) throw new BerthError('USAGE', 'a user name is needed: --username');
    let password = flags.password;
    if (flags.passwordStdin) password = await readStdin();
    else if (password === undefined && process.stdin.isTTY) password = await promptLine('Password: ', true);
    if (!password) throw new BerthError('USAGE', 'a password is needed: --password-stdin');
    const credentials: Credentials = { username, password };
    // Loaded when the command runs, not at the top: every other command would pay for it at start.
    const { logIn } = await import('../client/registry-login.js');
    const stored = await logIn(host, credentials, sessionSettings({ ...flags, creds: undefined }));
    if (stored.plaintext) {
      process.stderr.write(`WARNING! Your password will be stored unencrypted in ${stored.location}.\n`);
    }
    process.stdout.write(`Login Succeeded (credentials stored in ${stored.location})\n`);
    return 0;
  });

  const logout = program
    .command('logout')
    .argument('[host]', 'registry host[:port]', DEFAULT_HOST)
    .description('remove stored credentials for a registry')
    .option('--authfile <file>', "the auth.json to change instead of Docker's config")
    .addHelpText('after', '\nExample:\n  $ berth logout registry.example.com');
  onAction(logout, async (host: string, flags: { authfile?: string }) => {
    const { logOut } = await import('../client/registry-login.js');
    const removed = await logOut(host, flags.authfile);
    process.stdout.write(removed ? `Removed login credentials for ${host}\n` : `Not logged in to ${host}\n`);
    return 0;
  });
}

import type { Command } from 'commander';
import { DEFAULT_SERVER } from '../client/admin-address.js';
import type { AdminApi, AdminApiOptions, AdminLogin } from '../client/admin-api.js';
import { BerthError } from '../oci/errors.js';
import { addClientOptions, type ClientFlags, parseCreds, sessionSettings } from './client-options.js';
import { promptLine } from './prompt.js';

/** The flags every admin command has: where the server is, who to log in as, how to print. */
export interface AdminFlags extends ClientFlags {
  server?: string;
  username?: string;
  passwordStdin?: boolean;
  json?: boolean;
}

/**
 * `--server`, `--username`, `--password-stdin` (unless the command reads something else from stdin),
 * `--json`, and the TLS and credential options of the importer.
 */
export function addAdminOptions(command: Command, options: { passwordStdin?: boolean } = {}): Command {
  command
    .option(
      '--server <url>',
      `the Berth server, as a URL or HOST[:PORT] (default: $BERTH_SERVER, else the server of the last \`berth login\` to a Berth, else ${DEFAULT_SERVER})`,
    )
    .option(
      '-u, --username <name>',
      'log in as this user instead of using the login stored by `berth login`',
    );
  if (options.passwordStdin !== false)
    command.option('--password-stdin', 'read the password of --username from standard input');
  command.option('--json', 'print JSON');
  return addClientOptions(command);
}

/** Standard input, whole, as lines (a trailing newline does not make an empty last line). */
export async function readStdinLines(): Promise<string[]> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  return text === '' ? [] : text.split(/\r?\n/);
}

/**
 * Who the admin command calls the API as: `--username` (password from `password`, `--password-stdin` or a
 * prompt), else `--creds`, else the login `berth login HOST` stored for the server's host.
 */
export function adminLogin(flags: AdminFlags, password?: string): AdminLogin {
  const username = flags.username;
  if (username) {
    return {
      username,
      password: async () => {
        if (password !== undefined) return password;
        if (flags.passwordStdin) return (await readStdinLines())[0];
        if (process.stdin.isTTY) return promptLine(`Password for ${username}: `, true);
        return undefined;
      },
    };
  }
  if (flags.passwordStdin) throw new BerthError('USAGE', '--password-stdin needs --username');
  if (flags.creds) return { credentials: parseCreds(flags.creds, '--creds') };
  return { stored: true };
}

/** The admin API's options from an admin command's flags. */
export function adminApiOptions(flags: AdminFlags, password?: string): AdminApiOptions {
  return { server: flags.server, session: sessionSettings(flags), login: adminLogin(flags, password) };
}

/** Opens the admin API as the flags say, runs `fn`, closes it; the command then exits 0. */
export async function withAdminFlags(
  flags: AdminFlags,
  fn: (api: AdminApi) => Promise<void>,
  password?: string,
): Promise<number> {
  // Loaded here, not at the top: the transport would slow every other command's start.
  const { withAdminApi } = await import('../client/admin-api.js');
  await withAdminApi(adminApiOptions(flags, password), fn);
  return 0;
}

/** Prints the API's answer as JSON with `--json`, else what `text` makes of it. */
export function print<T>(flags: AdminFlags, value: T, text: (value: T) => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(value, null, 2)}\n` : text(value));
}

/** A repository glob and the actions it allows, as robots and roles hold them. */
export interface PolicyJson {
  repo: string;
  actions: string[];
}

/** For repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const ACTIONS = ['pull', 'push', 'delete'];

export function parseActions(raw: string, option: string): string[] {
  const actions = raw
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const unknown = actions.find((a) => !ACTIONS.includes(a));
  if (actions.length === 0 || unknown !== undefined)
    throw new BerthError(
      'USAGE',
      `${option}: actions are pull, push and delete, comma-separated; got "${raw}"`,
    );
  return actions;
}

/** `GLOB:ACTIONS`, as in `team/*:pull,push` (the glob itself is checked by the server). */
export function parsePolicy(raw: string, option: string): PolicyJson {
  const colon = raw.lastIndexOf(':');
  if (colon <= 0)
    throw new BerthError('USAGE', `${option}: expected REPO-GLOB:ACTIONS, such as 'team/*:pull,push'`);
  return { repo: raw.slice(0, colon), actions: parseActions(raw.slice(colon + 1), option) };
}

/** The subject of a member or binding: `user` or `robot`. */
export function parseSubjectKind(raw: string): 'user' | 'robot' {
  if (raw !== 'user' && raw !== 'robot')
    throw new BerthError('USAGE', `expected "user" or "robot", got "${raw}"`);
  return raw;
}

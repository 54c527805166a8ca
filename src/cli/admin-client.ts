import type { Command } from 'commander';
import type { ClientSession } from '../client/client-session.js';
import { isIdentityToken } from '../client/credentials/credentials.js';
import { readRememberedServer } from '../client/remembered-server.js';
import { header } from '../client/transport/transport.js';
import { BerthError, berthErrorCodeOf } from '../oci/errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { addClientOptions, type ClientFlags, openSession, parseBool, parseCreds } from './client-options.js';
import { promptLine } from './prompt.js';

/** The flags every admin command has: where the server is, who to log in as, how to print. */
export interface AdminFlags extends ClientFlags {
  server?: string;
  username?: string;
  passwordStdin?: boolean;
  json?: boolean;
}

const DEFAULT_SERVER = 'http://127.0.0.1:5000';

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

/** `--server`, else `$BERTH_SERVER`, else the server of the last `berth login` to a Berth, else the default. */
export async function chooseServer(flags: { server?: string }): Promise<string> {
  return (
    flags.server || process.env.BERTH_SERVER || (await readRememberedServer(process.env)) || DEFAULT_SERVER
  );
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

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
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

/** A path segment: robot names hold `$`, which is sent percent-encoded. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

/**
 * The admin API of one Berth server, through the importer's transport (its TLS settings, `--debug` log and
 * retries) with the caller's own Basic credentials on every request.
 */
export class AdminClient {
  private constructor(
    private readonly session: ClientSession,
    private readonly base: URL,
    readonly host: string,
    private readonly authorization: string,
    readonly username: string,
    readonly password: string,
    /** Whether the login came from the credential store (`berth login`), rather than flags. */
    readonly stored: boolean,
  ) {}

  /**
   * Connects as: `--username` (password from `password`, `--password-stdin` or a prompt), else `--creds`,
   * else the login `berth login HOST` stored for the server's host.
   */
  static async open(flags: AdminFlags, password?: string): Promise<AdminClient> {
    const raw = await chooseServer(flags);
    const explicit = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
    let given: URL | undefined;
    if (explicit) {
      try {
        given = new URL(raw);
      } catch {
        throw new BerthError('USAGE', `--server: "${raw}" is not a URL`);
      }
      if (given.protocol !== 'http:' && given.protocol !== 'https:')
        throw new BerthError('USAGE', `--server: expected an http:// or https:// URL, got "${raw}"`);
    }
    const host = given ? given.host : raw.replace(/\/+$/, '');
    if (!host || /[/\s]/.test(host))
      throw new BerthError('USAGE', `--server: "${raw}" is not a URL or HOST[:PORT]`);
    const tlsVerify = parseBool(flags.tlsVerify, '--tls-verify');
    if (given?.protocol === 'http:' && !isLoopbackHost(host) && tlsVerify !== false) {
      throw new BerthError(
        'INSECURE_SERVER',
        `${raw}: plain HTTP would send the password in clear text; use https://, or --tls-verify=false to accept it`,
      );
    }
    const session = await openSession(flags, [host]);
    try {
      // HOST[:PORT] is probed as `berth login` does: HTTPS, else plain HTTP for loopback or --tls-verify=false.
      const base = given ?? (await session.registry.base(host));
      const folder = new URL(base.pathname.endsWith('/') ? base.href : `${base.href}/`);
      const credentials = await AdminClient.credentials(flags, host, session, password);
      const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      return new AdminClient(
        session,
        folder,
        host,
        authorization,
        credentials.username,
        credentials.password,
        credentials.stored,
      );
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  private static async credentials(
    flags: AdminFlags,
    host: string,
    session: ClientSession,
    password: string | undefined,
  ): Promise<{ username: string; password: string; stored: boolean }> {
    if (flags.username) {
      let secret = password;
      if (secret === undefined && flags.passwordStdin) secret = (await readStdinLines())[0];
      else if (secret === undefined && process.stdin.isTTY)
        secret = await promptLine(`Password for ${flags.username}: `, true);
      if (!secret)
        throw new BerthError('USAGE', `a password is needed for ${flags.username}: --password-stdin`);
      return { username: flags.username, password: secret, stored: false };
    }
    if (flags.passwordStdin) throw new BerthError('USAGE', '--password-stdin needs --username');
    if (flags.creds) {
      const creds = parseCreds(flags.creds, '--creds') as { username: string; password: string };
      return { ...creds, stored: false };
    }
    const stored = await session.credentials.get(host);
    if (!stored) {
      throw new BerthError(
        'UNAUTHORIZED',
        `${host}: not logged in: run \`berth login ${host}\`, or give --username or --creds (another server: --server URL or BERTH_SERVER)`,
      );
    }
    if (isIdentityToken(stored)) {
      throw new BerthError(
        'UNAUTHORIZED',
        `${host}: the stored login is an identity token, which the admin API does not take; give --username`,
      );
    }
    return { username: stored.username, password: stored.password, stored: true };
  }

  /** One call: the parsed JSON answer (undefined for 204), or a `BerthError` with the server's code. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(`api/v1/${path}`, this.base);
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.session.registry.transport({
      method,
      url,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      // Our own Authorization header: no registry challenge dance.
      anonymous: true,
    });
    const text = await response.body.text();
    if (response.status >= 200 && response.status < 300)
      return (text === '' ? undefined : JSON.parse(text)) as T;
    let error: { code?: string; message?: string } | undefined;
    if (/json/.test(header(response, 'content-type') ?? '')) {
      try {
        error = (JSON.parse(text) as ErrorBody).errors?.[0];
      } catch {}
    }
    throw this.failure(response.status, error);
  }

  private failure(status: number, error: { code?: string; message?: string } | undefined): BerthError {
    const code = berthErrorCodeOf(error?.code) ?? 'UNKNOWN';
    const message = error?.message ?? `the server answered ${status}`;
    if (status === 401) {
      return new BerthError(
        'UNAUTHORIZED',
        `${this.host}: the server refused the login of "${this.username}": ${message}`,
      );
    }
    // The registry's own 404 for a path it does not serve: no admin API there (auth: none, or not Berth).
    if (status === 404 && (error?.message === 'no such endpoint' || !error)) {
      return new BerthError(
        'NO_ADMIN_API',
        `${this.host}: no admin API at ${new URL('api/v1/', this.base).href} (is it a Berth with auth on?)`,
      );
    }
    if (status === 403) return new BerthError(code, `${this.host}: denied: ${message}`);
    return new BerthError(code, `${this.host}: ${message}`);
  }

  /** After the caller changed their own password: the stored login gets the new one, so it keeps working. */
  async updateStoredLogin(password: string): Promise<string> {
    return (await this.session.credentials.store(this.host, { username: this.username, password })).location;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** Opens a client, runs `fn`, closes the client. */
export async function withAdminClient<T>(
  flags: AdminFlags,
  fn: (client: AdminClient) => Promise<T>,
  password?: string,
): Promise<T> {
  const client = await AdminClient.open(flags, password);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

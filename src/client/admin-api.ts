import { BerthError, berthErrorCodeOf } from '../oci/errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { DEFAULT_SERVER, segment } from './admin-address.js';
import type { ClientSession } from './client-session.js';
import { type Credentials, isIdentityToken } from './credentials/credentials.js';
import { readRememberedServer } from './remembered-server.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';
import { header } from './transport/transport.js';

/** `--server`, else `$BERTH_SERVER`, else the server of the last `berth login` to a Berth, else the default. */
export async function chooseServer(
  server: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return server || env.BERTH_SERVER || (await readRememberedServer(env)) || DEFAULT_SERVER;
}

/** Who the admin API is called as. */
export type AdminLogin =
  /** `--username`: the password is asked for only once the server is known to answer. */
  | { username: string; password: () => Promise<string | undefined> }
  /** `--creds`. */
  | { credentials: Credentials }
  /** The login `berth login HOST` stored for the server's host. */
  | { stored: true };

export interface AdminApiOptions {
  /** `--server` (a URL or HOST[:PORT]); undefined: see `chooseServer`. */
  server?: string | undefined;
  /** The session; its `credentials` are not used: `login` says who calls. */
  session: SessionSettings;
  login: AdminLogin;
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

/**
 * The admin API of one Berth server, through the importer's transport (its TLS settings, `--debug` log and
 * retries) with the caller's own Basic credentials on every request.
 */
export class AdminApi {
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

  /** Connects to the server as `login` says. */
  static async open(options: AdminApiOptions): Promise<AdminApi> {
    const raw = await chooseServer(options.server);
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
    if (given?.protocol === 'http:' && !isLoopbackHost(host) && options.session.tlsVerify !== false) {
      throw new BerthError(
        'INSECURE_SERVER',
        `${raw}: plain HTTP would send the password in clear text; use https://, or --tls-verify=false to accept it`,
      );
    }
    const login = options.login;
    const session = await openSessionFor(
      { ...options.session, ...('credentials' in login ? { credentials: login.credentials } : {}) },
      [host],
    );
    try {
      // HOST[:PORT] is probed as `berth login` does: HTTPS, else plain HTTP for loopback or --tls-verify=false.
      const base = given ?? (await session.registry.base(host));
      const folder = new URL(base.pathname.endsWith('/') ? base.href : `${base.href}/`);
      const credentials = await AdminApi.credentials(login, host, session);
      const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      return new AdminApi(
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
    login: AdminLogin,
    host: string,
    session: ClientSession,
  ): Promise<{ username: string; password: string; stored: boolean }> {
    if ('username' in login) {
      const secret = await login.password();
      if (!secret)
        throw new BerthError('USAGE', `a password is needed for ${login.username}: --password-stdin`);
      return { username: login.username, password: secret, stored: false };
    }
    if ('credentials' in login) {
      const creds = login.credentials as { username: string; password: string };
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

  /** A streamed answer (server-sent events): its body as it arrives, or the same errors as `request`. */
  async stream(path: string): Promise<AsyncIterable<Buffer>> {
    const url = new URL(`api/v1/${path}`, this.base);
    const response = await this.session.registry.transport({
      method: 'GET',
      url,
      headers: { authorization: this.authorization, accept: 'text/event-stream' },
      anonymous: true,
    });
    if (response.status === 200) return response.body;
    const text = await response.body.text();
    let error: { code?: string; message?: string } | undefined;
    try {
      error = (JSON.parse(text) as ErrorBody).errors?.[0];
    } catch {}
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

  /**
   * Sets a user's password. Changing one's own needs the current one (the login we hold is it), and then
   * the stored login gets the new one, so it keeps working; returns where it is stored when it was.
   */
  async changePassword(user: string, password: string): Promise<{ storedLoginUpdated?: string }> {
    const self = this.username === user;
    await this.request('PUT', `users/${segment(user)}/password`, {
      password,
      ...(self ? { currentPassword: this.password } : {}),
    });
    if (!self || !this.stored) return {};
    const stored = await this.session.credentials.store(this.host, { username: this.username, password });
    return { storedLoginUpdated: stored.location };
  }

  /** Creates or replaces roles, in order; an error names the role the server refused when there are several. */
  async putRoles<T>(roles: { name: string; policies: unknown[] }[]): Promise<T[]> {
    const saved: T[] = [];
    for (const role of roles) {
      try {
        saved.push(await this.request<T>('PUT', `roles/${segment(role.name)}`, { policies: role.policies }));
      } catch (error) {
        if (error instanceof BerthError && roles.length > 1)
          throw new BerthError(error.code, `role ${role.name}: ${error.message}`);
        throw error;
      }
    }
    return saved;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** Opens the admin API, runs `fn`, closes it. */
export async function withAdminApi<T>(
  options: AdminApiOptions,
  fn: (api: AdminApi) => Promise<T>,
): Promise<T> {
  const api = await AdminApi.open(options);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

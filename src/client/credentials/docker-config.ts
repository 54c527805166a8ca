import { constants, existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { writeAtomically } from '../../files/atomic-write.js';
import { BerthError } from '../../oci/errors.js';
import { type Credentials, isIdentityToken } from './credentials.js';
import { dockerServerAddress, registryHost } from './server-address.js';

/**
 * How a file's `auths` keys name what they apply to.
 * - `docker` (config.json): a key names a host; scheme and path are dropped (`https://host/v1/` is `host`).
 * - `containers` (auth.json): `host/namespace/repo` keys scope credentials to a namespace or repository; a key
 *   with a scheme is legacy Docker style and names its host only.
 */
export type AuthKeyStyle = 'docker' | 'containers';

/** One `auths` entry as Docker, podman and skopeo write it; other fields (`email`, …) are kept as read. */
export interface AuthEntry {
  /** base64 of `user:password`. */
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [field: string]: unknown;
}

type JsonObject = { [key: string]: unknown };

/** Fields of an `auths` entry that hold a secret or a user name: what a helper marker entry leaves out. */
const SECRET_FIELDS = ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const;

/** A helper name becomes part of a program name looked up on PATH: no separators, no leading dot. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Where Docker keeps config.json: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(options: { env?: NodeJS.ProcessEnv; home?: string } = {}): string {
  const env = options.env ?? process.env;
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(options.home ?? env.HOME ?? homedir(), '.docker', 'config.json');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The scope an `auths` key applies to: a host, or for namespaced auth.json keys `host/namespace…`. */
export function authKeyScope(key: string, style: AuthKeyStyle): string {
  if (style === 'docker' || /^https?:\/\//i.test(key)) return registryHost(key);
  const trimmed = key.trim().replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  if (slash < 0) return registryHost(trimmed);
  const host = registryHost(trimmed.slice(0, slash));
  return host ? `${host}${trimmed.slice(slash)}` : '';
}

/** The key a tool writes for a host: Docker's server address in config.json, the bare host in auth.json. */
export function authKeyFor(host: string, style: AuthKeyStyle): string {
  return style === 'docker' ? dockerServerAddress(host) : registryHost(host);
}

/** A JSON.parse failure as a line and column: V8's message quotes the text, which may hold a secret. */
function describeJsonError(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(String((error as Error)?.message));
  if (!position) return 'it is not valid JSON';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `it is not valid JSON (line ${line}, column ${column})`;
}

/**
 * Docker's config.json, or a containers auth.json (the same format): the credential fields checked, and
 * every other key kept as read so a write changes only what it means to.
 */
export class AuthConfigFile {
  private constructor(
    readonly path: string,
    readonly style: AuthKeyStyle,
    /** False when the file was missing: it reads as empty and a save creates it. */
    readonly exists: boolean,
    private readonly document: JsonObject,
  ) {}

  /** An empty document for `path`, as a missing file reads. */
  static empty(path: string, style: AuthKeyStyle): AuthConfigFile {
    return new AuthConfigFile(path, style, false, {});
  }

  /**
   * Reads and checks a file. A missing file reads as empty; an empty one too (Docker accepts it).
   * Errors: `CREDENTIALS_FILE_UNREADABLE`, `CREDENTIALS_CONFIG_INVALID`, both naming the file.
   */
  static async read(path: string, style: AuthKeyStyle): Promise<AuthConfigFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return AuthConfigFile.empty(path, style);
      throw new BerthError('CREDENTIALS_FILE_UNREADABLE', `cannot read credentials file ${path}: ${code}`);
    }
    if (text.trim() === '') return new AuthConfigFile(path, style, true, {});
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw AuthConfigFile.invalid(path, describeJsonError(text, error));
    }
    if (!isObject(document)) throw AuthConfigFile.invalid(path, 'it is not a JSON object');
    const file = new AuthConfigFile(path, style, true, document);
    file.check();
    return file;
  }

  private static invalid(path: string, why: string): BerthError {
    return new BerthError('CREDENTIALS_CONFIG_INVALID', `invalid credentials file ${path}: ${why}`);
  }

  private check(): void {
    const { auths, credHelpers, credsStore } = this.document;
    if (auths !== undefined) {
      if (!isObject(auths)) throw AuthConfigFile.invalid(this.path, '"auths" is not an object');
      for (const [key, entry] of Object.entries(auths)) {
        if (!isObject(entry))
          throw AuthConfigFile.invalid(this.path, `auths entry "${key}" is not an object`);
        for (const field of ['auth', 'username', 'password', 'identitytoken'] as const) {
          if (entry[field] !== undefined && typeof entry[field] !== 'string') {
            throw AuthConfigFile.invalid(this.path, `"${field}" of auths entry "${key}" is not a string`);
          }
        }
      }
    }
    if (credHelpers !== undefined) {
      if (!isObject(credHelpers)) throw AuthConfigFile.invalid(this.path, '"credHelpers" is not an object');
      for (const [key, name] of Object.entries(credHelpers)) {
        if (typeof name !== 'string' || (name !== '' && !HELPER_NAME.test(name))) {
          throw AuthConfigFile.invalid(this.path, `credHelpers entry "${key}" is not a helper name`);
        }
      }
    }
    if (
      credsStore !== undefined &&
      (typeof credsStore !== 'string' || (credsStore && !HELPER_NAME.test(credsStore)))
    ) {
      throw AuthConfigFile.invalid(this.path, '"credsStore" is not a helper name');
    }
  }

  private get auths(): Record<string, AuthEntry> {
    return (this.document.auths ?? {}) as Record<string, AuthEntry>;
  }

  private ensureAuths(): Record<string, AuthEntry> {
    if (!isObject(this.document.auths)) this.document.auths = {};
    return this.document.auths as Record<string, AuthEntry>;
  }

  /** The helper every host uses unless `credHelpers` names another; '' counts as none, as in Docker. */
  get credsStore(): string | undefined {
    const name = this.document.credsStore;
    return typeof name === 'string' && name !== '' ? name : undefined;
  }

  setCredsStore(name: string): void {
    this.document.credsStore = name;
  }

  /** The `credHelpers` helper for a host; keys compare by host (`https://host/` and `host` are one). */
  credHelperFor(host: string): string | undefined {
    const target = registryHost(host);
    const helpers = (this.document.credHelpers ?? {}) as Record<string, string>;
    const exact = helpers[authKeyFor(target, 'docker')] ?? helpers[target];
    if (exact) return exact;
    for (const [key, name] of Object.entries(helpers)) {
      if (name && registryHost(key) === target) return name;
    }
    return undefined;
  }

  /** The `auths` keys that name a host or, in auth.json, a namespace under it; file order. */
  keysFor(scope: string): string[] {
    return Object.keys(this.auths).filter((key) => authKeyScope(key, this.style) === scope);
  }

  /**
   * The credentials `auths` holds for a host. In auth.json, a repository (`team/app`) makes namespaced keys
   * count, most specific first (`host/team/app`, `host/team`, `host`), as containers-auth.json(5) says.
   * The key the tool itself would write wins over legacy spellings of the same host; entries without a
   * secret (Docker's marker for "in the helper") are passed over.
   */
  findAuth(host: string, repository?: string): { key: string; credentials: Credentials } | undefined {
    const target = registryHost(host);
    const scopes: string[] = [];
    if (this.style === 'containers' && repository) {
      const parts = repository.split('/');
      for (let n = parts.length; n > 0; n--) scopes.push(`${target}/${parts.slice(0, n).join('/')}`);
    }
    scopes.push(target);
    const preferred = authKeyFor(target, this.style);
    for (const scope of scopes) {
      const keys = this.keysFor(scope).sort((a, b) => Number(b === preferred) - Number(a === preferred));
      for (const key of keys) {
        const credentials = this.decode(key);
        if (credentials) return { key, credentials };
      }
    }
    return undefined;
  }

  private decode(key: string): Credentials | undefined {
    const entry = this.auths[key] ?? {};
    let username = entry.username ?? '';
    let password = entry.password ?? '';
    if (entry.auth) {
      const encoded = entry.auth.trim();
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || colon < 0) {
        throw AuthConfigFile.invalid(
          this.path,
          `"auth" of auths entry "${key}" is not base64 of user:password`,
        );
      }
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (entry.identitytoken) {
      return username
        ? { identityToken: entry.identitytoken, username }
        : { identityToken: entry.identitytoken };
    }
    if (!username && !password) return undefined;
    return { username, password };
  }

  /** Puts credentials in `auths` under the key the tool would write, keeping other fields of the entry. */
  setAuth(host: string, credentials: Credentials): string {
    const key = authKeyFor(host, this.style);
    const entry = this.withoutSecrets(key);
    if (isIdentityToken(credentials)) {
      if (credentials.username) entry.auth = encodeAuth(credentials.username, '');
      entry.identitytoken = credentials.identityToken;
    } else {
      entry.auth = encodeAuth(credentials.username, credentials.password);
    }
    this.ensureAuths()[key] = entry;
    return key;
  }

  /**
   * Docker's marker for credentials kept by a helper: an entry with no secret (`"host": {}`), which is how
   * `docker logout` and `docker info` know the login exists. Replaces any base64 secret under that key.
   */
  markStoredInHelper(host: string): void {
    const key = authKeyFor(host, this.style);
    this.ensureAuths()[key] = this.withoutSecrets(key);
  }

  private withoutSecrets(key: string): AuthEntry {
    const entry: AuthEntry = { ...(this.auths[key] ?? {}) };
    for (const field of SECRET_FIELDS) delete entry[field];
    return entry;
  }

  /** Removes every host-level `auths` entry for a host, whatever its spelling; returns the removed keys. */
  removeAuths(host: string): string[] {
    const keys = this.keysFor(registryHost(host));
    if (keys.length > 0) {
      const auths = this.ensureAuths();
      for (const key of keys) delete auths[key];
    }
    return keys;
  }

  /** The document as JSON, indented with tabs as Docker and podman write it. */
  serialize(): string {
    return `${JSON.stringify(this.document, null, '\t')}\n`;
  }

  /** Writes the file atomically, mode 0600, creating its folder with mode 0700 when missing. */
  async save(): Promise<void> {
    await writeFileAtomic(this.path, this.serialize());
  }
}

function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** config.json and auth.json are written atomically (see files/atomic-write.ts); failures name the file. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  try {
    await writeAtomically(path, text);
  } catch (error) {
    throw new BerthError(
      'CREDENTIALS_WRITE_FAILED',
      `cannot write credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

async function onPath(program: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (!folder) continue;
    try {
      await access(join(folder, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/**
 * The store Docker uses when config.json names none (docker/cli DetectDefaultStore): on Linux `pass` when
 * the `pass` program is installed, else `secretservice`; `osxkeychain` on macOS; `wincred` on Windows; in
 * each case only when its `docker-credential-` program is on PATH. Docker saves the choice as `credsStore`
 * at its next write, so only writes need to ask.
 */
export async function detectDefaultCredentialsStore(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  let name: string;
  if (platform === 'linux') {
    // Only a store that can work: pass once `pass init` has run, the Secret Service inside a desktop session.
    // Docker picks pass when it is merely installed, and then every login fails until someone runs pass init.
    const passStore = env.PASSWORD_STORE_DIR || join(env.HOME || homedir(), '.password-store');
    if ((await onPath('pass', env)) && existsSync(join(passStore, '.gpg-id'))) name = 'pass';
    else if (env.DBUS_SESSION_BUS_ADDRESS) name = 'secretservice';
    else return undefined;
  } else if (platform === 'darwin') name = 'osxkeychain';
  else if (platform === 'win32') name = 'wincred';
  else return undefined;
  const program = `docker-credential-${name}`;
  const found =
    (await onPath(program, env)) || (platform === 'win32' && (await onPath(`${program}.exe`, env)));
  return found ? name : undefined;
}

import { resolve } from 'node:path';
import { containersAuthPaths } from './containers-auth.js';
import { CredentialHelper, type HelperCredentials, IDENTITY_TOKEN_USERNAME } from './credential-helper.js';
import { type Credentials, checkCredentials, type FoundCredentials, isIdentityToken } from './credentials.js';
import {
  AuthConfigFile,
  type AuthKeyStyle,
  authKeyFor,
  detectDefaultCredentialsStore,
  dockerConfigPath,
} from './docker-config.js';
import { isDockerHub, parseRegistryHost, registryHost } from './server-address.js';

export interface CredentialStoreOptions {
  /** DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_*, HOME, and PATH for helpers (which also run with it). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The home folder for `~/.docker` and `~/.config`. Default: env.HOME, else the OS's. */
  home?: string;
  /** `--authfile`: the only file read and written, in auth.json style (podman's and skopeo's option). */
  authFile?: string;
  /** For `/run/containers/<uid>/auth.json`. Default: this process's uid. */
  uid?: number;
  /** For Docker's default credential store. Default: process.platform. */
  platform?: NodeJS.Platform;
  /** Per helper call. Default: 30 s. */
  helperTimeoutMs?: number;
}

export interface LookupOptions {
  /** The repository (`team/app`): lets namespaced auth.json keys (`host/team`) apply, most specific first. */
  repository?: string;
}

/** Where `store` put credentials. */
export interface StoredCredentials {
  /** A helper program (`docker-credential-pass`) or a file path, for "credentials stored in …". */
  readonly location: string;
  /** True when the secret sits base64-encoded, not encrypted, in a file: the CLI warns as Docker does. */
  readonly plaintext: boolean;
}

/**
 * Registry credentials where Docker, podman and skopeo keep them. Hosts are given as in image references
 * (`registry.example.com:5000`, `docker.io`); URLs and Docker Hub aliases are accepted and normalized.
 * Errors are `BerthError`s (`CREDENTIALS_*`, `CREDENTIAL_HELPER_*`, `REGISTRY_HOST_INVALID`) naming the
 * file or helper and the host; no message ever holds a secret.
 */
export interface CredentialStore {
  /**
   * Credentials for a host, first found wins. Without `authFile`: Docker's config.json (`credHelpers[host]`,
   * else `credsStore`, then `auths`), then each containers auth.json in order (`credHelpers`, `credsStore`,
   * `auths`). With `authFile`: that file alone. Undefined when none has any.
   */
  get(host: string, options?: LookupOptions): Promise<FoundCredentials | undefined>;
  /**
   * Saves credentials where Docker would: the `credHelpers[host]` helper, else `credsStore`, else Docker's
   * default store for the platform when its helper is installed (then saved as `credsStore`, as Docker
   * does), else base64 in `auths`. With `authFile`: its helper, else its `auths`.
   */
  store(host: string, credentials: Credentials): Promise<StoredCredentials>;
  /** Removes a host's credentials from wherever `store` would put them, all spellings; false when there were none. */
  erase(host: string): Promise<boolean>;
}

export function openCredentialStore(options: CredentialStoreOptions = {}): CredentialStore {
  return new ConfigCredentialStore(options);
}

class ConfigCredentialStore implements CredentialStore {
  private readonly env: NodeJS.ProcessEnv;
  private readonly platform: NodeJS.Platform;
  private readonly helperTimeoutMs: number | undefined;
  /** The file `store` and `erase` change, with how its keys are spelled. */
  private readonly target: { path: string; style: AuthKeyStyle };
  /** Files `get` reads, in order. */
  private readonly sources: { path: string; style: AuthKeyStyle }[];

  constructor(options: CredentialStoreOptions) {
    this.env = options.env ?? process.env;
    this.platform = options.platform ?? process.platform;
    this.helperTimeoutMs = options.helperTimeoutMs;
    if (options.authFile) {
      this.target = { path: options.authFile, style: 'containers' };
      this.sources = [this.target];
      return;
    }
    const location = { env: this.env, home: options.home, uid: options.uid, platform: this.platform };
    this.target = { path: dockerConfigPath(location), style: 'docker' };
    const seen = new Set([resolve(this.target.path)]);
    this.sources = [this.target];
    for (const path of containersAuthPaths(location)) {
      // REGISTRY_AUTH_FILE pointed at config.json is read once, as Docker's.
      if (seen.has(resolve(path))) continue;
      seen.add(resolve(path));
      this.sources.push({ path, style: 'containers' });
    }
  }

  async get(host: string, options: LookupOptions = {}): Promise<FoundCredentials | undefined> {
    const target = parseRegistryHost(host);
    // Files are read one at a time: a broken auth.json does not matter when config.json has the answer.
    for (const source of this.sources) {
      const file = await AuthConfigFile.read(source.path, source.style);
      const helper = this.helperFor(file, target);
      if (helper) {
        const entry = await this.helperGet(helper, target, file.style);
        if (entry) return { ...fromHelper(entry), source: helper.describe() };
      }
      const auth = file.findAuth(target, options.repository);
      if (auth) return { ...auth.credentials, source: file.path };
    }
    return undefined;
  }

  async store(host: string, credentials: Credentials): Promise<StoredCredentials> {
    const target = parseRegistryHost(host);
    checkCredentials(credentials);
    const file = await AuthConfigFile.read(this.target.path, this.target.style);
    let helper = this.helperFor(file, target);
    let detected = false;
    if (!helper && file.style === 'docker') {
      const name = await detectDefaultCredentialsStore(this.env, this.platform);
      if (name) {
        helper = this.helper(name, `Docker's default store here; ${file.path} names no credsStore`);
        detected = true;
      }
    }
    if (!helper) {
      file.setAuth(target, credentials);
      await file.save();
      return { location: file.path, plaintext: true };
    }
    await helper.store(toHelper(authKeyFor(target, file.style), credentials));
    if (file.style === 'docker') {
      file.markStoredInHelper(target);
      if (detected) file.setCredsStore(helper.name);
      await file.save();
    }
    return { location: helper.program, plaintext: false };
  }

  async erase(host: string): Promise<boolean> {
    const target = parseRegistryHost(host);
    const file = await AuthConfigFile.read(this.target.path, this.target.style);
    let erased = false;
    const helper = this.helperFor(file, target);
    if (helper) erased = await this.helperErase(helper, target);
    if (file.removeAuths(target).length > 0) {
      await file.save();
      erased = true;
    }
    return erased;
  }

  private helper(name: string, origin: string): CredentialHelper {
    return new CredentialHelper(name, { env: this.env, timeoutMs: this.helperTimeoutMs, origin });
  }

  private helperFor(file: AuthConfigFile, host: string): CredentialHelper | undefined {
    const perHost = file.credHelperFor(host);
    if (perHost) return this.helper(perHost, `credHelpers in ${file.path}`);
    if (file.credsStore) return this.helper(file.credsStore, `credsStore in ${file.path}`);
    return undefined;
  }

  /**
   * Asks for the entry under the server URL this file's tool uses; failing that, under any other spelling of
   * the host the helper lists (podman files Docker Hub as `docker.io`, old Docker wrote `https://host`).
   */
  private async helperGet(
    helper: CredentialHelper,
    host: string,
    style: AuthKeyStyle,
  ): Promise<HelperCredentials | undefined> {
    const serverUrl = authKeyFor(host, style);
    const entry = await helper.get(serverUrl);
    if (entry) return entry;
    const listed = await listOrUndefined(helper);
    for (const other of Object.keys(listed ?? {})) {
      if (other === serverUrl || registryHost(other) !== host) continue;
      const found = await helper.get(other);
      if (found) return found;
    }
    return undefined;
  }

  private async helperErase(helper: CredentialHelper, host: string): Promise<boolean> {
    const listed = await listOrUndefined(helper);
    let candidates: string[];
    if (listed) {
      candidates = Object.keys(listed).filter((url) => registryHost(url) === host);
    } else {
      // Without `list`, try the spellings docker logout tries, asking first: erasing a missing entry is an
      // error for some helpers (pass).
      const spellings = new Set([authKeyFor(host, 'docker'), authKeyFor(host, 'containers')]);
      if (!isDockerHub(host)) for (const scheme of ['https://', 'http://']) spellings.add(`${scheme}${host}`);
      candidates = [];
      for (const url of spellings) if (await helper.get(url)) candidates.push(url);
    }
    let erased = false;
    for (const url of candidates) if (await helper.erase(url)) erased = true;
    return erased;
  }
}

/** `list` is optional in the protocol: a helper without it (or failing at it) just lists nothing. */
async function listOrUndefined(helper: CredentialHelper): Promise<Record<string, string> | undefined> {
  try {
    return await helper.list();
  } catch {
    return undefined;
  }
}

function fromHelper(entry: HelperCredentials): Credentials {
  if (entry.username === IDENTITY_TOKEN_USERNAME) return { identityToken: entry.secret };
  return { username: entry.username, password: entry.secret };
}

function toHelper(serverUrl: string, credentials: Credentials): HelperCredentials {
  return isIdentityToken(credentials)
    ? { serverUrl, username: IDENTITY_TOKEN_USERNAME, secret: credentials.identityToken }
    : { serverUrl, username: credentials.username, secret: credentials.password };
}

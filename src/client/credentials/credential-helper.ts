import { spawn } from 'node:child_process';
import { BerthError } from '../../oci/errors.js';

/** The user name Docker stores with an identity token in a helper: the secret is then the token. */
export const IDENTITY_TOKEN_USERNAME = '<token>';

/** What docker-credential-helpers print (stdout or stderr) when they hold nothing for a server. */
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';

/** A helper's whole answer is a small JSON document; more than this is a broken helper. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;

/** One entry of a credential helper, in the protocol's terms. */
export interface HelperCredentials {
  /** The key the helper files the entry under: Docker's server address (`https://index.docker.io/v1/`, `host:5000`). */
  serverUrl: string;
  username: string;
  secret: string;
}

export interface CredentialHelperOptions {
  /** Environment of the helper process; PATH also finds the program. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Which setting chose the helper (`credsStore in /root/.docker/config.json`), for error messages. */
  origin?: string;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A `docker-credential-<name>` program, spoken to with the docker-credential-helpers protocol: the action
 * as the only argument, the server URL or a JSON entry on stdin, JSON on stdout. Errors are
 * `CREDENTIAL_HELPER_NOT_FOUND` (program not on PATH) and `CREDENTIAL_HELPER_FAILED` (non-zero exit,
 * timeout, unreadable answer); both name the program and the server, never the secret.
 */
export class CredentialHelper {
  readonly program: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly origin: string | undefined;

  constructor(
    readonly name: string,
    options: CredentialHelperOptions = {},
  ) {
    this.program = `docker-credential-${name}`;
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
    this.origin = options.origin;
  }

  /** A description for messages: the program and, when known, the setting that chose it. */
  describe(): string {
    return this.origin ? `${this.program} (${this.origin})` : this.program;
  }

  /** The entry for a server URL, or undefined when the helper holds none. */
  async get(serverUrl: string): Promise<HelperCredentials | undefined> {
    const what = `get credentials for ${serverUrl}`;
    const result = await this.run('get', serverUrl, what);
    if (result.code !== 0) {
      if (isNotFound(result)) return undefined;
      throw this.failed(what, result);
    }
    // The answer holds the secret: a message about it must never quote it.
    let answer: unknown;
    try {
      answer = JSON.parse(result.stdout);
    } catch {
      throw this.error(what, 'its answer is not valid JSON');
    }
    const { Username: username, Secret: secret, ServerURL: url } = (answer ?? {}) as Record<string, unknown>;
    if (typeof username !== 'string' || typeof secret !== 'string') {
      throw this.error(what, 'its answer has no Username and Secret strings');
    }
    // Some helpers (pass 0.6) answer a miss with exit 0 and empty fields.
    if (username === '' && secret === '') return undefined;
    return { serverUrl: typeof url === 'string' && url ? url : serverUrl, username, secret };
  }

  async store(entry: HelperCredentials): Promise<void> {
    const what = `store credentials for ${entry.serverUrl}`;
    const input = JSON.stringify({
      ServerURL: entry.serverUrl,
      Username: entry.username,
      Secret: entry.secret,
    });
    const result = await this.run('store', input, what);
    if (result.code !== 0) throw this.failed(what, result, entry.secret);
  }

  /** Removes the entry; false when the helper says it held none. */
  async erase(serverUrl: string): Promise<boolean> {
    const what = `erase credentials for ${serverUrl}`;
    const result = await this.run('erase', serverUrl, what);
    if (result.code === 0) return true;
    if (isNotFound(result)) return false;
    throw this.failed(what, result);
  }

  /** Server URL → user name of every entry. Optional in the protocol: some helpers do not answer it. */
  async list(): Promise<Record<string, string>> {
    const what = 'list credentials';
    const result = await this.run('list', '', what);
    if (result.code !== 0) throw this.failed(what, result);
    let answer: unknown;
    try {
      answer = JSON.parse(result.stdout);
    } catch {
      throw this.error(what, 'its answer is not valid JSON');
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      throw this.error(what, 'its answer is not a JSON object');
    }
    const entries: Record<string, string> = {};
    for (const [url, username] of Object.entries(answer)) {
      if (typeof username === 'string') entries[url] = username;
    }
    return entries;
  }

  private error(what: string, why: string): BerthError {
    return new BerthError(
      'CREDENTIAL_HELPER_FAILED',
      `credential helper ${this.describe()} could not ${what}: ${why}`,
    );
  }

  private failed(what: string, result: RunResult, secret?: string): BerthError {
    const status = result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
    const said = helperMessage(result, secret);
    return this.error(what, said ? `${status}: ${said}` : status);
  }

  private run(action: string, input: string, what: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const child = spawn(this.program, [action], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_OUTPUT_BYTES) {
          child.kill('SIGKILL');
          settle(() => reject(this.error(what, `it wrote more than ${MAX_OUTPUT_BYTES} bytes`)));
          return;
        }
        into.push(chunk);
      };
      child.stdout.on('data', collect(stdout));
      child.stderr.on('data', collect(stderr));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(() => reject(this.error(what, `no answer within ${Math.round(this.timeoutMs / 1000)} s`)));
      }, this.timeoutMs);
      child.on('error', (error: NodeJS.ErrnoException) => {
        settle(() => {
          if (error.code === 'ENOENT') {
            reject(
              new BerthError(
                'CREDENTIAL_HELPER_NOT_FOUND',
                `credential helper ${this.describe()} is not installed: ${this.program} was not found on PATH (needed to ${what})`,
              ),
            );
          } else {
            reject(this.error(what, `it could not be started (${error.code ?? error.message})`));
          }
        });
      });
      child.on('close', (code, signal) => {
        settle(() =>
          resolve({
            code,
            signal,
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
          }),
        );
      });
      // A helper may exit before reading its input (an unknown action, a crash): that is its answer, not ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }
}

function isNotFound(result: RunResult): boolean {
  return `${result.stdout}\n${result.stderr}`.includes(NOT_FOUND_MESSAGE);
}

/** What a failed helper said (its error goes to stdout by the protocol, stderr by habit), short and redacted. */
function helperMessage(result: RunResult, secret?: string): string {
  let text = [result.stdout.trim(), result.stderr.trim()].filter(Boolean).join(' | ');
  if (secret) text = text.split(secret).join('***');
  text = text.replace(/\s+/g, ' ');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

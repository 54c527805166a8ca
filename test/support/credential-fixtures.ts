import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The tests' own credential helper, `docker-credential-berthtest`, keeping entries in a JSON file. */
export interface TestHelper {
  /** Put this folder on PATH to make the helper available. */
  binDir: string;
  /** The helper name as config.json spells it (`credsStore: "berthtest"`). */
  name: string;
  /** Server URL → entry, as the helper holds them. */
  entries(): Promise<Record<string, { Username: string; Secret: string }>>;
  seed(entries: Record<string, { Username: string; Secret: string }>): Promise<void>;
  /** Every request the helper answered, in order: the action and its server URL (never the secret). */
  calls(): Promise<{ action: string; serverUrl?: string }[]>;
}

/**
 * The protocol as docker-credential-helpers speak it: a miss is "credentials not found in native keychain"
 * on stdout with exit 1. Environment knobs make it misbehave for error tests:
 * BERTHTEST_FAIL=message (exit 3 with that message; BERTHTEST_ECHO=1 adds the input), BERTHTEST_HANG=1,
 * BERTHTEST_GARBAGE=1 (half a JSON answer), BERTHTEST_NO_LIST=1 (no `list`), BERTHTEST_EMPTY_MISS=1
 * (a miss as exit 0 with empty fields, like pass 0.6).
 */
function helperScript(storePath: string, logPath: string): string {
  // An absolute interpreter path: tests run helpers with a PATH that holds nothing but the helper's folder.
  return `#!${process.execPath}
const fs = require('node:fs');
const STORE = ${JSON.stringify(storePath)};
const LOG = ${JSON.stringify(logPath)};
const env = process.env;
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const read = () => { try { return JSON.parse(fs.readFileSync(STORE, 'utf8')); } catch { return {}; } };
const save = (entries) => fs.writeFileSync(STORE, JSON.stringify(entries));
const log = (serverUrl) => fs.appendFileSync(LOG, JSON.stringify({ action, serverUrl }) + '\\n');
const miss = () => {
  if (env.BERTHTEST_EMPTY_MISS && action === 'get') {
    process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: '', Secret: '' }));
    process.exit(0);
  }
  process.stdout.write('credentials not found in native keychain\\n');
  process.exit(1);
};
if (env.BERTHTEST_HANG) {
  setInterval(() => {}, 1000);
} else if (env.BERTHTEST_FAIL) {
  process.stdout.write(env.BERTHTEST_FAIL + (env.BERTHTEST_ECHO ? ' ' + input : ''));
  process.stderr.write('more detail on stderr\\n');
  process.exit(3);
} else {
  const entries = read();
  if (action === 'get') {
    const url = input.trim();
    log(url);
    const entry = entries[url];
    if (!entry) miss();
    if (env.BERTHTEST_GARBAGE) process.stdout.write('{"ServerURL":"' + url + '","Secret":"' + entry.Secret + '"');
    else process.stdout.write(JSON.stringify({ ServerURL: url, Username: entry.Username, Secret: entry.Secret }));
  } else if (action === 'store') {
    const entry = JSON.parse(input);
    log(entry.ServerURL);
    entries[entry.ServerURL] = { Username: entry.Username, Secret: entry.Secret };
    save(entries);
  } else if (action === 'erase') {
    const url = input.trim();
    log(url);
    if (!entries[url]) miss();
    delete entries[url];
    save(entries);
  } else if (action === 'list' && !env.BERTHTEST_NO_LIST) {
    log();
    const out = {};
    for (const [url, entry] of Object.entries(entries)) out[url] = entry.Username;
    process.stdout.write(JSON.stringify(out));
  } else {
    process.stdout.write('unknown action: ' + action);
    process.exit(1);
  }
}
`;
}

/** Installs `docker-credential-<name>` (default `berthtest`) into `<dir>/bin`, holding entries in `<dir>`. */
export async function installTestHelper(dir: string, name = 'berthtest'): Promise<TestHelper> {
  const binDir = join(dir, 'bin');
  const storePath = join(dir, `${name}-entries.json`);
  const logPath = join(dir, `${name}-calls.log`);
  await mkdir(binDir, { recursive: true });
  const program = join(binDir, `docker-credential-${name}`);
  await writeFile(program, helperScript(storePath, logPath));
  await chmod(program, 0o755);
  return {
    binDir,
    name,
    async entries() {
      try {
        return JSON.parse(await readFile(storePath, 'utf8'));
      } catch {
        return {};
      }
    },
    async seed(entries) {
      await writeFile(storePath, JSON.stringify(entries));
    },
    async calls() {
      try {
        const text = await readFile(logPath, 'utf8');
        return text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line));
      } catch {
        return [];
      }
    },
  };
}

/** base64 of `user:password`, as the `auth` field of config.json holds it. */
export function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(value, null, 2));
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** A `pass` password store with a throwaway GnuPG key, for the real docker-credential-pass. */
export interface PassStore {
  /** GNUPGHOME and PASSWORD_STORE_DIR for the helper and `pass`. */
  env: { GNUPGHOME: string; PASSWORD_STORE_DIR: string };
  storeDir: string;
  /** Stops the gpg-agent this store's GnuPG home started. */
  close(): Promise<void>;
}

export const PASS_KEY_ID = 'test@example.invalid';

/** Generates a key without a passphrase and runs `pass init` with it (about 2 s). */
export async function setupPassStore(dir: string): Promise<PassStore> {
  const gnupgHome = join(dir, 'gnupg');
  const storeDir = join(dir, 'password-store');
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir };
  await execFileAsync(
    'gpg',
    ['--batch', '--passphrase', '', '--quick-gen-key', PASS_KEY_ID, 'default', 'default', 'never'],
    { env, timeout: 60_000 },
  );
  await execFileAsync('pass', ['init', PASS_KEY_ID], { env, timeout: 60_000 });
  return {
    env: { GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir },
    storeDir,
    async close() {
      await execFileAsync('gpgconf', ['--kill', 'all'], { env, timeout: 30_000 }).catch(() => undefined);
    },
  };
}

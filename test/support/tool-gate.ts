// When a suite needs something beyond Node and the npm packages (a client binary, a service, built fixtures):
// skipped with one reason under `npm test`, mandatory under `npm run test:full` and CI.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * `npm run test:full` sets BERTH_TEST_FULL=1 and CI also sets BERTH_TEST_INTEROP=1: then nothing may skip,
 * and a missing tool, service or fixture is a failure.
 */
export const testsRequired = process.env.BERTH_TEST_FULL === '1' || process.env.BERTH_TEST_INTEROP === '1';

/** Kept for the suites that name it; the same flag as testsRequired. */
export const interopRequired = testsRequired;

/** The Debian package that brings each tool the tests run, for the install hint in a skip reason. */
const DEBIAN_PACKAGE: Record<string, string> = {
  'docker-credential-pass': 'golang-docker-credential-helpers',
  'docker-registry': 'docker-registry',
  go: 'golang-go',
  gpg: 'gnupg',
  gpgconf: 'gnupg',
  initdb: 'postgresql-15',
  pg_ctl: 'postgresql-15',
  rpmbuild: 'rpm',
  mount: 'mount',
  umount: 'mount',
  script: 'bsdutils',
  timeout: 'coreutils',
};

export interface ToolGate {
  /** Tools not found on PATH. */
  missing: string[];
  /** The reason to skip the suite, or false when it must run (all present, or the run is a full one). */
  skip: string | false;
  /** Throws when something is missing; call it first in the suite's `before` so a full run fails loudly. */
  assertAvailable(): void;
}

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** A gate over a condition that is not a tool: `missing` is the reason, or undefined when all is there. */
export function requireCondition(missing: string | undefined): ToolGate {
  return {
    missing: missing ? [missing] : [],
    skip: missing && !testsRequired ? missing : false,
    assertAvailable() {
      if (missing)
        throw new Error(`a full run (BERTH_TEST_FULL or BERTH_TEST_INTEROP) needs this: ${missing}`);
    },
  };
}

/**
 * The mandatory-vs-skip rule for tools: `describe(name, { skip: gate.skip }, ...)` with
 * `gate.assertAvailable()` first thing in `before`. The reason names what is missing and how to install it.
 */
export async function requireTools(...names: string[]): Promise<ToolGate> {
  const missing: string[] = [];
  for (const name of names) if (!(await onPath(name))) missing.push(name);
  if (missing.length === 0) return requireCondition(undefined);
  const packages = [...new Set(missing.map((name) => DEBIAN_PACKAGE[name] ?? name))];
  return requireCondition(`${missing.join(', ')} not installed (apt-get install -y ${packages.join(' ')})`);
}

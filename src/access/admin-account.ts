import type { AccessStore, UserRecord } from '../metadata/access-store.js';
import { BerthError } from '../oci/errors.js';
import { generateSecret, hashSecret } from './password-hash.js';

/**
 * A generated password is stored with this mark until it has been printed: no login matches a marked hash
 * (it is not `scrypt$…`), and a start that finds the mark makes and prints a new password. So a crash
 * between storing and printing cannot leave an admin whose password nobody has seen.
 */
const UNSHOWN_MARK = 'unshown$';

export const FIRST_ADMIN = 'admin';
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

/**
 * A usable admin: a system admin whose password someone knows (given by BERTH_ADMIN_PASSWORD, by
 * `berth admin reset-password`, through the admin API, or generated and printed).
 */
export function isUsableAdmin(user: UserRecord): boolean {
  return user.admin && !user.passwordHash.startsWith(UNSHOWN_MARK);
}

export type FirstAdmin =
  /** A usable admin exists; nothing was changed. */
  | { kind: 'exists' }
  /** The `admin` user now has the given password (BERTH_ADMIN_PASSWORD). */
  | { kind: 'set'; created: boolean }
  /**
   * The `admin` user has a generated password that no login accepts yet: print it, then `confirm()` makes
   * it valid (false when another node replaced it in between, whose password counts instead).
   */
  | { kind: 'generated'; created: boolean; password: string; confirm(): Promise<boolean> }
  /** No usable admin, and a user named `admin` who is not one: left alone (reset-password is the way). */
  | { kind: 'blocked' };

/**
 * Makes sure a usable admin exists: when none does, the `admin` user gets `password` (BERTH_ADMIN_PASSWORD)
 * or a generated one. Runs at every start, so the variable applies whenever no usable admin exists yet.
 */
export async function ensureFirstAdmin(
  store: AccessStore,
  password: string | undefined,
  now: number,
): Promise<FirstAdmin> {
  const users = await store.listUsers();
  if (users.some(isUsableAdmin)) return { kind: 'exists' };
  const existing = users.find((user) => user.name === FIRST_ADMIN);
  if (existing && !existing.admin) return { kind: 'blocked' };
  if (password !== undefined) checkPasswordRule(password, 'BERTH_ADMIN_PASSWORD');
  const secret = password ?? generateSecret();
  const hash = await hashSecret(secret);
  const stored = password === undefined ? `${UNSHOWN_MARK}${hash}` : hash;
  let created = false;
  if (existing) await store.updateUser(FIRST_ADMIN, { passwordHash: stored });
  else {
    created = await store.createUser({
      name: FIRST_ADMIN,
      passwordHash: stored,
      admin: true,
      createdAt: now,
    });
    // Another node made it first: its start prints or applies the password.
    if (!created) return { kind: 'exists' };
  }
  await store.audit({
    at: now,
    actor: 'berth',
    actorKind: 'system',
    event: created ? 'user.created' : 'user.password_changed',
    detail: { user: FIRST_ADMIN, admin: true, reason: 'no usable admin at start' },
  });
  if (password !== undefined) return { kind: 'set', created };
  return {
    kind: 'generated',
    created,
    password: secret,
    async confirm() {
      const current = await store.getUser(FIRST_ADMIN);
      if (current?.passwordHash !== stored) return false;
      return store.updateUser(FIRST_ADMIN, { passwordHash: hash });
    },
  };
}

/** Sets a user's password from the server's machine (`berth admin reset-password`), without a login. */
export async function resetPassword(
  store: AccessStore,
  name: string,
  password: string,
  now: number,
): Promise<void> {
  checkPasswordRule(password, 'the new password');
  const user = await store.getUser(name);
  if (!user) throw new BerthError('USER_NOT_FOUND', `no user named ${name} in this database`);
  await store.updateUser(name, { passwordHash: await hashSecret(password) });
  await store.audit({
    at: now,
    actor: 'berth',
    actorKind: 'system',
    event: 'user.password_changed',
    detail: { user: name, reason: 'berth admin reset-password' },
  });
}

export function checkPasswordRule(password: string, what: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH)
    throw new BerthError(
      'PASSWORD_INVALID',
      `${what} must have ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
    );
}

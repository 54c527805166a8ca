import type { UserRecord } from '../metadata/access-store.js';
import { AuthenticationError } from './access-service.js';
import {
  type AdminCall,
  type AdminContext,
  adminFailure,
  type Input,
  isSystemAdmin,
} from './admin-context.js';
import { generateSecret, hashSecret } from './password-hash.js';

/** A user as the admin API shows it: never the password hash. */
export interface UserAccount {
  name: string;
  admin: boolean;
  createdAt: number;
}

export interface NewUser {
  name: string;
  /** Generated when absent, and returned once. */
  password?: string | undefined;
  admin?: boolean | undefined;
}

export interface PasswordChange {
  password: string;
  /** Required when the caller changes their own password. */
  currentPassword?: string | undefined;
}

function userAccount(user: UserRecord): UserAccount {
  return { name: user.name, admin: user.admin, createdAt: user.createdAt };
}

/** Users: system admins manage them; a user may read their own record and change their own password. */
export class UserAdmin {
  constructor(private readonly context: AdminContext) {}

  async list(call: AdminCall): Promise<UserAccount[]> {
    await this.requireAdmin(call);
    return (await this.context.store.listUsers()).map(userAccount);
  }

  /** The new user, and the password when it was generated (shown in this answer only: the store keeps the hash). */
  async create(
    call: AdminCall,
    input: Input<NewUser>,
  ): Promise<{ user: UserAccount; generatedPassword?: string }> {
    await this.requireAdmin(call);
    const body = await input();
    const password = body.password ?? generateSecret();
    const user: UserRecord = {
      name: body.name,
      passwordHash: await hashSecret(password),
      admin: body.admin ?? false,
      createdAt: this.context.clock.now(),
    };
    if (!(await this.context.store.createUser(user)))
      throw adminFailure('CONFLICT', `user "${body.name}" exists`);
    await this.context.changed(call, 'user.created', { user: user.name, admin: user.admin });
    return {
      user: userAccount(user),
      ...(body.password === undefined ? { generatedPassword: password } : {}),
    };
  }

  async get(call: AdminCall, name: string): Promise<UserAccount> {
    if (!this.isSelf(call, name) && !isSystemAdmin(call.caller))
      await this.context.deny(call, 'only system admins read other users');
    return userAccount(await this.existing(name));
  }

  async delete(call: AdminCall, input: Input<{ name: string }>): Promise<void> {
    await this.requireAdmin(call);
    const { name } = await input();
    await this.keepOneAdmin(await this.existing(name), 'delete');
    if (!(await this.context.store.deleteUser(name)))
      throw adminFailure('NOT_FOUND', `no user named "${name}"`);
    await this.context.changed(call, 'user.deleted', { user: name });
  }

  /**
   * A user changes their own password by proving the current one: a stolen token or an unlocked screen must
   * not be enough to take the account over, an admin's least of all. An admin resetting another's does not.
   */
  async changePassword(call: AdminCall, name: string, input: Input<PasswordChange>): Promise<void> {
    const self = this.isSelf(call, name);
    if (!self && !isSystemAdmin(call.caller))
      await this.context.deny(call, "only system admins change other users' passwords");
    const body = await input();
    if (self) {
      if (body.currentPassword === undefined)
        throw adminFailure('INVALID', 'currentPassword: required to change your own password');
      try {
        await this.context.access.login(name, body.currentPassword, call.source);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        if (error.reason === 'rate_limited') throw adminFailure('TOOMANYREQUESTS', error.message);
        throw adminFailure('DENIED', 'currentPassword: wrong password');
      }
    }
    await this.existing(name);
    await this.context.store.updateUser(name, { passwordHash: await hashSecret(body.password) });
    await this.context.changed(call, 'user.password_changed', { user: name });
  }

  async setAdmin(call: AdminCall, input: Input<{ name: string; admin: boolean }>): Promise<UserAccount> {
    await this.requireAdmin(call);
    const { name, admin } = await input();
    const user = await this.existing(name);
    if (!admin) await this.keepOneAdmin(user, 'demote');
    await this.context.store.updateUser(name, { admin });
    await this.context.changed(call, 'user.admin_changed', { user: name, admin });
    return userAccount({ ...user, admin });
  }

  private requireAdmin(call: AdminCall): Promise<void> {
    return this.context.requireSystemAdmin(call, 'only system admins manage users');
  }

  private isSelf(call: AdminCall, name: string): boolean {
    return call.caller.kind === 'user' && call.caller.name === name;
  }

  private async existing(name: string): Promise<UserRecord> {
    const user = await this.context.store.getUser(name);
    if (!user) throw adminFailure('NOT_FOUND', `no user named "${name}"`);
    return user;
  }

  // Nobody could manage Berth any more without one: the last admin stays.
  private async keepOneAdmin(user: UserRecord, doing: string): Promise<void> {
    if (!user.admin) return;
    const admins = (await this.context.store.listUsers()).filter((u) => u.admin);
    if (admins.length <= 1)
      throw adminFailure('CONFLICT', `cannot ${doing} "${user.name}": it is the last system admin`);
  }
}

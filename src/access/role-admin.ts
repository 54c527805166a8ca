import type { PolicyRoleRecord } from '../metadata/access-store.js';
import { type AdminCall, type AdminContext, adminFailure, type Input } from './admin-context.js';
import type { Policy, SubjectKind } from './principal.js';

export type PolicyRole = PolicyRoleRecord;

export interface RoleBinding {
  role: string;
  kind: SubjectKind;
  subject: string;
}

/** Policy roles (repository globs and actions) and who is bound to them: system admins only. */
export class RoleAdmin {
  constructor(private readonly context: AdminContext) {}

  async list(call: AdminCall): Promise<PolicyRole[]> {
    await this.requireAdmin(call);
    return this.context.store.listRoles();
  }

  async get(call: AdminCall, input: Input<{ name: string }>): Promise<PolicyRole> {
    await this.requireAdmin(call);
    return this.existing((await input()).name);
  }

  /** Creates or replaces the role's policies (its bindings stay); `created` tells which. */
  async put(
    call: AdminCall,
    input: Input<{ name: string; policies: Policy[] }>,
  ): Promise<{ role: PolicyRole; created: boolean }> {
    await this.requireAdmin(call);
    const { name, policies } = await input();
    const created = (await this.context.store.getRole(name)) === undefined;
    await this.context.store.putRole(name, policies, this.context.clock.now());
    await this.context.changed(call, 'role.put', { role: name, policies });
    return { role: await this.existing(name), created };
  }

  async delete(call: AdminCall, input: Input<{ name: string }>): Promise<void> {
    await this.requireAdmin(call);
    const { name } = await input();
    if (!(await this.context.store.deleteRole(name)))
      throw adminFailure('NOT_FOUND', `no role named "${name}"`);
    await this.context.changed(call, 'role.deleted', { role: name });
  }

  async bind(call: AdminCall, input: Input<RoleBinding>): Promise<RoleBinding> {
    await this.requireAdmin(call);
    const { role, kind, subject } = await input();
    await this.existing(role);
    if (!(await this.context.subjectExists(kind, subject)))
      throw adminFailure('NOT_FOUND', `no ${kind} named "${subject}"`);
    await this.context.store.bindRole(role, kind, subject);
    await this.context.changed(call, 'role.bound', { role, kind, subject });
    return { role, kind, subject };
  }

  async unbind(call: AdminCall, input: Input<RoleBinding>): Promise<void> {
    await this.requireAdmin(call);
    const { role, kind, subject } = await input();
    if (!(await this.context.store.unbindRole(role, kind, subject)))
      throw adminFailure('NOT_FOUND', `${kind} "${subject}" is not bound to role "${role}"`);
    await this.context.changed(call, 'role.unbound', { role, kind, subject });
  }

  private requireAdmin(call: AdminCall): Promise<void> {
    return this.context.requireSystemAdmin(call, 'only system admins manage roles');
  }

  private async existing(name: string): Promise<PolicyRole> {
    const role = await this.context.store.getRole(name);
    if (!role) throw adminFailure('NOT_FOUND', `no role named "${name}"`);
    return role;
  }
}

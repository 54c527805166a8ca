import type { AuditRecord } from '../metadata/access-store.js';
import type { AdmissionStore } from '../metadata/admission-store.js';
import type { ImmutabilityStore } from '../metadata/immutability-store.js';
import type { TrustStore } from '../metadata/trust-store.js';
import type { AccessService } from './access-service.js';
import { type AdminCall, AdminContext, type Input, isSystemAdmin } from './admin-context.js';
import { AdmissionAdmin, type AdmissionPolicyCheck } from './admission-admin.js';
import { ImmutabilityAdmin } from './immutability-admin.js';
import { ProjectAdmin } from './project-admin.js';
import { RobotAdmin } from './robot-admin.js';
import { RoleAdmin } from './role-admin.js';
import { type PublicKeyCheck, TrustAdmin } from './trust-admin.js';
import { UserAdmin } from './user-admin.js';

export type { AdminCall, AdminFailure, Caller, Input } from './admin-context.js';
export { isSystemAdmin } from './admin-context.js';
export type { ImmutabilityRule, NewRule } from './immutability-admin.js';
export type { MemberChoice, NewProject, Project, ProjectMember, VisibleProject } from './project-admin.js';
export type { NewRobot, RobotAccount } from './robot-admin.js';
export type { PolicyRole, RoleBinding } from './role-admin.js';
export type { NewUser, PasswordChange, UserAccount } from './user-admin.js';
export type { AuditRecord };

export interface AuditQuery {
  limit: number;
  before?: number | undefined;
  actor?: string | undefined;
}

/**
 * The admin API's use cases: one method per thing an administrator (or a project admin, or a user about
 * themselves) can do, each taking the call and its input, checking who may, and returning plain records.
 * Failures are `BerthError`s with the admin error table's codes; the HTTP layer only maps them.
 */
/** The stores of per-project policies the admin API manages, each absent when the server runs without it. */
export interface ProjectPolicyStores {
  immutability?: ImmutabilityStore;
  admission?: {
    store: AdmissionStore;
    check: AdmissionPolicyCheck;
    trust: TrustStore;
    checkKey: PublicKeyCheck;
  };
}

export class AdminService {
  readonly users: UserAdmin;
  readonly robots: RobotAdmin;
  readonly projects: ProjectAdmin;
  readonly roles: RoleAdmin;
  /** Tag immutability rules: given the store that holds them (absent in tests of the other use cases). */
  readonly immutability: ImmutabilityAdmin | undefined;
  /** Projects' admission policies; absent when the server was built without them. */
  readonly admission: AdmissionAdmin | undefined;
  /** Projects' trust policies; absent when the server was built without them. */
  readonly trust: TrustAdmin | undefined;
  private readonly context: AdminContext;

  // The access service's clock: one server, one time.
  constructor(access: AccessService, policies: ProjectPolicyStores = {}) {
    this.context = new AdminContext(access, access.clock);
    this.users = new UserAdmin(this.context);
    this.robots = new RobotAdmin(this.context);
    this.projects = new ProjectAdmin(this.context);
    this.roles = new RoleAdmin(this.context);
    this.immutability = policies.immutability
      ? new ImmutabilityAdmin(this.context, this.projects, policies.immutability)
      : undefined;
    const { admission } = policies;
    this.admission = admission
      ? new AdmissionAdmin(this.context, this.projects, admission.store, admission.check)
      : undefined;
    this.trust = admission
      ? new TrustAdmin(this.context, this.projects, admission.trust, admission.checkKey)
      : undefined;
  }

  /** Who the caller is, as the API tells them. */
  me(call: AdminCall): { name: string; kind: 'user' | 'robot'; admin: boolean } {
    return { name: call.caller.name, kind: call.caller.kind, admin: isSystemAdmin(call.caller) };
  }

  /** The audit log, newest first; `next` is where the following page starts when this one is full. */
  async auditLog(
    call: AdminCall,
    input: Input<AuditQuery>,
  ): Promise<{ events: AuditRecord[]; next?: number }> {
    await this.context.requireSystemAdmin(call, 'only system admins read the audit log');
    const query = await input();
    const events = await this.context.store.listAudit(query);
    const last = events.at(-1);
    return { events, ...(events.length === query.limit && last ? { next: last.id } : {}) };
  }
}

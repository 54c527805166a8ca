/** Rows of the access tables, as the access module reads and writes them. Actions are plain strings here. */
export interface PolicyRecord {
  repo: string;
  actions: string[];
}

export interface UserRecord {
  name: string;
  passwordHash: string;
  admin: boolean;
  createdAt: number;
  /** Raised by every change of the account's grants (memberships, roles, admin flag); read only. */
  grantsVersion?: number;
}

export interface RobotRecord {
  name: string;
  secretHash: string;
  permissions: PolicyRecord[];
  description: string;
  expiresAt: number | null;
  createdBy: string;
  createdAt: number;
  /** Raised by every change of the account's grants (memberships, role bindings); read only. */
  grantsVersion?: number;
}

export interface ProjectRecord {
  name: string;
  public: boolean;
  createdAt: number;
}

export interface MemberRecord {
  project: string;
  subjectKind: string;
  subject: string;
  role: string;
}

export interface PolicyRoleRecord {
  name: string;
  policies: PolicyRecord[];
  createdAt: number;
  bindings: { subjectKind: string; subject: string }[];
}

export interface AuditEvent {
  at: number;
  actor: string;
  actorKind: string;
  /** `login.succeeded`, `login.failed`, `access.denied`, `robot.created`, `robot.revoked`, `user.created`, … */
  event: string;
  repository?: string | undefined;
  action?: string | undefined;
  source?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

export interface AuditRecord extends AuditEvent {
  id: number;
}

export interface SigningKeyRecord {
  kid: string;
  algorithm: string;
  privateJwk: string;
  createdAt: number;
}

/**
 * Users, robots, projects, roles, the audit log and token signing keys. Every change of what an account may
 * do (membership, role binding, a bound role's policies, the admin flag, a project deleted) raises the
 * account's grants version in the same call, so tokens issued before the change can be told apart.
 */
export interface AccessStore {
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** False when the name is taken. */
  createUser(user: UserRecord): Promise<boolean>;
  updateUser(name: string, change: { passwordHash?: string; admin?: boolean }): Promise<boolean>;
  /** Removes the user, its memberships and role bindings. */
  deleteUser(name: string): Promise<boolean>;

  getRobot(name: string): Promise<RobotRecord | undefined>;
  listRobots(): Promise<RobotRecord[]>;
  createRobot(robot: RobotRecord): Promise<boolean>;
  deleteRobot(name: string): Promise<boolean>;

  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  createProject(project: ProjectRecord): Promise<boolean>;
  updateProject(name: string, change: { public: boolean }): Promise<boolean>;
  deleteProject(name: string): Promise<boolean>;
  listMembers(project: string): Promise<MemberRecord[]>;
  setMember(member: MemberRecord): Promise<void>;
  removeMember(project: string, subjectKind: string, subject: string): Promise<boolean>;
  memberRole(project: string, subjectKind: string, subject: string): Promise<string | undefined>;
  /** Every membership the subject holds, by project name: one query where a listing needs them all. */
  membershipsOf(subjectKind: string, subject: string): Promise<MemberRecord[]>;

  getRole(name: string): Promise<PolicyRoleRecord | undefined>;
  listRoles(): Promise<PolicyRoleRecord[]>;
  /** Creates or replaces a role's policies; its bindings stay. */
  putRole(name: string, policies: PolicyRecord[], now: number): Promise<void>;
  deleteRole(name: string): Promise<boolean>;
  bindRole(role: string, subjectKind: string, subject: string): Promise<void>;
  unbindRole(role: string, subjectKind: string, subject: string): Promise<boolean>;
  /** Policies of every role bound to the subject. */
  policiesFor(subjectKind: string, subject: string): Promise<PolicyRecord[]>;

  audit(event: AuditEvent): Promise<void>;
  /** Newest first; `before` pages back by id. */
  listAudit(options: {
    limit: number;
    before?: number | undefined;
    actor?: string | undefined;
  }): Promise<AuditRecord[]>;

  signingKeys(): Promise<SigningKeyRecord[]>;
  /** False when the kid exists (another node made a key at the same moment). */
  addSigningKey(key: SigningKeyRecord): Promise<boolean>;
}

import type { Kysely, Selectable, Transaction } from 'kysely';
import type {
  AccessStore,
  AuditEvent,
  AuditRecord,
  MemberRecord,
  PolicyRecord,
  PolicyRoleRecord,
  ProjectRecord,
  RobotRecord,
  SigningKeyRecord,
  UserRecord,
} from './access-store.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

function toUser(row: Selectable<Database['users']>): UserRecord {
  return {
    name: row.name,
    passwordHash: row.password_hash,
    admin: Number(row.admin) === 1,
    createdAt: Number(row.created_at),
    grantsVersion: Number(row.grants_version),
  };
}

function toRobot(row: Selectable<Database['robots']>): RobotRecord {
  return {
    name: row.name,
    secretHash: row.secret_hash,
    permissions: JSON.parse(row.permissions) as PolicyRecord[],
    description: row.description,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    grantsVersion: Number(row.grants_version),
  };
}

function toProject(row: Selectable<Database['projects']>): ProjectRecord {
  return { name: row.name, public: Number(row.public) === 1, createdAt: Number(row.created_at) };
}

function toMember(row: Selectable<Database['project_members']>): MemberRecord {
  return { project: row.project, subjectKind: row.subject_kind, subject: row.subject, role: row.role };
}

/** The access tables, written once in Kysely for SQLite and PostgreSQL. */
export class KyselyAccessStore implements AccessStore {
  constructor(private readonly db: Db) {}

  async getUser(name: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const result = await this.db
      .insertInto('users')
      .values({
        name: user.name,
        password_hash: user.passwordHash,
        admin: user.admin ? 1 : 0,
        created_at: user.createdAt,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async updateUser(name: string, change: { passwordHash?: string; admin?: boolean }): Promise<boolean> {
    const values: { password_hash?: string; admin?: number } = {};
    if (change.passwordHash !== undefined) values.password_hash = change.passwordHash;
    if (change.admin !== undefined) values.admin = change.admin ? 1 : 0;
    if (Object.keys(values).length === 0) return (await this.getUser(name)) !== undefined;
    const result = await this.db
      .updateTable('users')
      .set((eb) =>
        change.admin === undefined ? values : { ...values, grants_version: eb('grants_version', '+', 1) },
      )
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteUser(name: string): Promise<boolean> {
    await this.forgetSubject('user', name);
    const result = await this.db.deleteFrom('users').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Raises the grants version of the named accounts (see `AccessStore`). */
  private async bumpGrants(subjects: { subjectKind: string; subject: string }[]): Promise<void> {
    for (const kind of ['user', 'robot'] as const) {
      const names = [...new Set(subjects.filter((s) => s.subjectKind === kind).map((s) => s.subject))];
      if (names.length === 0) continue;
      await this.db
        .updateTable(kind === 'user' ? 'users' : 'robots')
        .set((eb) => ({ grants_version: eb('grants_version', '+', 1) }))
        .where('name', 'in', names)
        .execute();
    }
  }

  private async membersOf(project: string): Promise<{ subjectKind: string; subject: string }[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select(['subject_kind', 'subject'])
      .where('project', '=', project)
      .execute();
    return rows.map((r) => ({ subjectKind: r.subject_kind, subject: r.subject }));
  }

  private async boundTo(role: string): Promise<{ subjectKind: string; subject: string }[]> {
    const rows = await this.db
      .selectFrom('role_bindings')
      .select(['subject_kind', 'subject'])
      .where('role', '=', role)
      .execute();
    return rows.map((r) => ({ subjectKind: r.subject_kind, subject: r.subject }));
  }

  private async forgetSubject(kind: string, name: string): Promise<void> {
    await this.db
      .deleteFrom('project_members')
      .where('subject_kind', '=', kind)
      .where('subject', '=', name)
      .execute();
    await this.db
      .deleteFrom('role_bindings')
      .where('subject_kind', '=', kind)
      .where('subject', '=', name)
      .execute();
  }

  async getRobot(name: string): Promise<RobotRecord | undefined> {
    const row = await this.db.selectFrom('robots').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toRobot(row) : undefined;
  }

  async listRobots(): Promise<RobotRecord[]> {
    return (await this.db.selectFrom('robots').selectAll().orderBy('name').execute()).map(toRobot);
  }

  async createRobot(robot: RobotRecord): Promise<boolean> {
    const result = await this.db
      .insertInto('robots')
      .values({
        name: robot.name,
        secret_hash: robot.secretHash,
        permissions: JSON.stringify(robot.permissions),
        description: robot.description,
        expires_at: robot.expiresAt,
        created_by: robot.createdBy,
        created_at: robot.createdAt,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async deleteRobot(name: string): Promise<boolean> {
    await this.forgetSubject('robot', name);
    const result = await this.db.deleteFrom('robots').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toProject(row) : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return (await this.db.selectFrom('projects').selectAll().orderBy('name').execute()).map(toProject);
  }

  async createProject(project: ProjectRecord): Promise<boolean> {
    const result = await this.db
      .insertInto('projects')
      .values({ name: project.name, public: project.public ? 1 : 0, created_at: project.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async updateProject(name: string, change: { public: boolean }): Promise<boolean> {
    const result = await this.db
      .updateTable('projects')
      .set({ public: change.public ? 1 : 0 })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteProject(name: string): Promise<boolean> {
    await this.bumpGrants(await this.membersOf(name));
    await this.db.deleteFrom('project_members').where('project', '=', name).execute();
    const result = await this.db.deleteFrom('projects').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listMembers(project: string): Promise<MemberRecord[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .selectAll()
      .where('project', '=', project)
      .orderBy('subject_kind')
      .orderBy('subject')
      .execute();
    return rows.map(toMember);
  }

  async setMember(member: MemberRecord): Promise<void> {
    await this.db
      .insertInto('project_members')
      .values({
        project: member.project,
        subject_kind: member.subjectKind,
        subject: member.subject,
        role: member.role,
      })
      .onConflict((oc) =>
        oc.columns(['project', 'subject_kind', 'subject']).doUpdateSet({ role: member.role }),
      )
      .execute();
    await this.bumpGrants([member]);
  }

  async removeMember(project: string, subjectKind: string, subject: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('project_members')
      .where('project', '=', project)
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    await this.bumpGrants([{ subjectKind, subject }]);
    return true;
  }

  async memberRole(project: string, subjectKind: string, subject: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project', '=', project)
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row?.role;
  }

  async membershipsOf(subjectKind: string, subject: string): Promise<MemberRecord[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .selectAll()
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .orderBy('project')
      .execute();
    return rows.map(toMember);
  }

  async getRole(name: string): Promise<PolicyRoleRecord | undefined> {
    return (await this.roles(name))[0];
  }

  listRoles(): Promise<PolicyRoleRecord[]> {
    return this.roles();
  }

  private async roles(name?: string): Promise<PolicyRoleRecord[]> {
    let q = this.db.selectFrom('policy_roles').selectAll().orderBy('name');
    if (name !== undefined) q = q.where('name', '=', name);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    let b = this.db.selectFrom('role_bindings').selectAll().orderBy('subject_kind').orderBy('subject');
    if (name !== undefined) b = b.where('role', '=', name);
    const bindings = await b.execute();
    return rows.map((r) => ({
      name: r.name,
      policies: JSON.parse(r.policies) as PolicyRecord[],
      createdAt: Number(r.created_at),
      bindings: bindings
        .filter((x) => x.role === r.name)
        .map((x) => ({ subjectKind: x.subject_kind, subject: x.subject })),
    }));
  }

  async putRole(name: string, policies: PolicyRecord[], now: number): Promise<void> {
    await this.db
      .insertInto('policy_roles')
      .values({ name, policies: JSON.stringify(policies), created_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ policies: JSON.stringify(policies) }))
      .execute();
    await this.bumpGrants(await this.boundTo(name));
  }

  async deleteRole(name: string): Promise<boolean> {
    await this.bumpGrants(await this.boundTo(name));
    await this.db.deleteFrom('role_bindings').where('role', '=', name).execute();
    const result = await this.db.deleteFrom('policy_roles').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async bindRole(role: string, subjectKind: string, subject: string): Promise<void> {
    await this.db
      .insertInto('role_bindings')
      .values({ role, subject_kind: subjectKind, subject })
      .onConflict((oc) => oc.columns(['role', 'subject_kind', 'subject']).doNothing())
      .execute();
    await this.bumpGrants([{ subjectKind, subject }]);
  }

  async unbindRole(role: string, subjectKind: string, subject: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('role_bindings')
      .where('role', '=', role)
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    await this.bumpGrants([{ subjectKind, subject }]);
    return true;
  }

  async policiesFor(subjectKind: string, subject: string): Promise<PolicyRecord[]> {
    const rows = await this.db
      .selectFrom('role_bindings')
      .innerJoin('policy_roles', 'policy_roles.name', 'role_bindings.role')
      .select('policy_roles.policies')
      .where('role_bindings.subject_kind', '=', subjectKind)
      .where('role_bindings.subject', '=', subject)
      .execute();
    return rows.flatMap((r) => JSON.parse(r.policies) as PolicyRecord[]);
  }

  async audit(event: AuditEvent): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        at: event.at,
        actor: event.actor,
        actor_kind: event.actorKind,
        event: event.event,
        repository: event.repository ?? null,
        action: event.action ?? null,
        source: event.source ?? null,
        detail: event.detail ? JSON.stringify(event.detail) : null,
      })
      .execute();
  }

  async listAudit(options: {
    limit: number;
    before?: number | undefined;
    actor?: string | undefined;
  }): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(options.limit);
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    if (options.actor !== undefined) q = q.where('actor', '=', options.actor);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: r.actor,
      actorKind: r.actor_kind,
      event: r.event,
      repository: r.repository ?? undefined,
      action: r.action ?? undefined,
      source: r.source ?? undefined,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
    }));
  }

  async signingKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('kid')
      .execute();
    return rows.map((r) => ({
      kid: r.kid,
      algorithm: r.algorithm,
      privateJwk: r.private_jwk,
      createdAt: Number(r.created_at),
    }));
  }

  async addSigningKey(key: SigningKeyRecord): Promise<boolean> {
    const result = await this.db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        algorithm: key.algorithm,
        private_jwk: key.privateJwk,
        created_at: key.createdAt,
      })
      .onConflict((oc) => oc.column('kid').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

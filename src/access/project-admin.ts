import type { MemberRecord, ProjectRecord } from '../metadata/access-store.js';
import {
  type AdminCall,
  type AdminContext,
  adminFailure,
  type Caller,
  type Input,
  isSystemAdmin,
} from './admin-context.js';
import { PROJECT_ROLES, type ProjectRole, type SubjectKind } from './principal.js';
import { globMatches } from './repository-glob.js';

export type Project = ProjectRecord;
export type ProjectMember = MemberRecord;

/** A project as one caller sees it: with their role in it when they are a member. */
export interface VisibleProject {
  project: Project;
  role: ProjectRole | undefined;
}

export interface NewProject {
  name: string;
  public?: boolean | undefined;
}

export interface MemberChoice {
  kind: SubjectKind;
  subject: string;
}

function asProjectRole(role: string | undefined): ProjectRole | undefined {
  return role !== undefined && (PROJECT_ROLES as readonly string[]).includes(role)
    ? (role as ProjectRole)
    : undefined;
}

/** Whether one of the policies reaches into the project: its first segment matches the project's name. */
export function policiesReach(policies: { repo: string }[], project: string): boolean {
  return policies.some((p) => {
    const first = p.repo.startsWith('**') ? '**' : (p.repo.split('/')[0] ?? '');
    return first !== '' && globMatches(first, project);
  });
}

/**
 * Whether the caller sees a project: system admins see all; others the public ones, those they are a member
 * of, and those their robot permissions or policy roles reach. The others answer 404 as if absent.
 */
export function projectVisible(
  caller: Caller,
  project: Project,
  role: ProjectRole | undefined,
  policies: { repo: string }[],
): boolean {
  return (
    isSystemAdmin(caller) || project.public || role !== undefined || policiesReach(policies, project.name)
  );
}

/**
 * Projects and their members. System admins create and delete projects; a project's `project-admin`
 * members manage its members and visibility. Anyone logged in lists the projects they can see.
 */
export class ProjectAdmin {
  constructor(private readonly context: AdminContext) {}

  /** The projects the caller can see, by name: two queries whatever the number of projects. */
  async list(call: AdminCall): Promise<VisibleProject[]> {
    const { caller } = call;
    const store = this.context.store;
    const policies = isSystemAdmin(caller) ? [] : await this.policiesOf(caller);
    const roles = new Map(
      (await store.membershipsOf(caller.kind, caller.name)).map((m) => [m.project, asProjectRole(m.role)]),
    );
    const visible: VisibleProject[] = [];
    for (const project of await store.listProjects()) {
      const role = roles.get(project.name);
      if (projectVisible(caller, project, role, policies)) visible.push({ project, role });
    }
    return visible;
  }

  async create(call: AdminCall, input: Input<NewProject>): Promise<Project> {
    await this.context.requireSystemAdmin(call, 'only system admins create projects');
    const body = await input();
    const project: Project = {
      name: body.name,
      public: body.public ?? false,
      createdAt: this.context.clock.now(),
    };
    if (!(await this.context.store.createProject(project)))
      throw adminFailure('CONFLICT', `project "${body.name}" exists`);
    await this.context.changed(call, 'project.created', { project: project.name, public: project.public });
    return project;
  }

  /** The project and the caller's role in it; `NOT_FOUND` when it does not exist or the caller may not see it. */
  async get(call: AdminCall, name: string): Promise<VisibleProject> {
    const store = this.context.store;
    const project = await store.getProject(name);
    const role = project
      ? asProjectRole(await store.memberRole(name, call.caller.kind, call.caller.name))
      : undefined;
    // Policies are read only when nothing cheaper already shows the project.
    const visible =
      project &&
      (projectVisible(call.caller, project, role, []) ||
        policiesReach(await this.policiesOf(call.caller), name));
    if (!project || !visible) throw adminFailure('NOT_FOUND', `no project named "${name}"`);
    return { project, role };
  }

  async update(call: AdminCall, name: string, input: Input<{ public: boolean }>): Promise<VisibleProject> {
    const { project, role } = await this.get(call, name);
    await this.requireProjectAdmin(call, role, 'change a project');
    const change = await input();
    await this.context.store.updateProject(project.name, { public: change.public });
    await this.context.changed(call, 'project.updated', { project: project.name, public: change.public });
    return { project: { ...project, public: change.public }, role };
  }

  async delete(call: AdminCall, input: Input<{ name: string }>): Promise<void> {
    await this.context.requireSystemAdmin(call, 'only system admins delete projects');
    const { project } = await this.get(call, (await input()).name);
    await this.context.store.deleteProject(project.name);
    await this.context.changed(call, 'project.deleted', { project: project.name });
  }

  async members(call: AdminCall, name: string): Promise<ProjectMember[]> {
    const { project, role } = await this.get(call, name);
    if (!isSystemAdmin(call.caller) && role === undefined)
      await this.context.deny(call, "only a project's members see its members");
    return this.context.store.listMembers(project.name);
  }

  async setMember(
    call: AdminCall,
    name: string,
    input: Input<MemberChoice & { role: ProjectRole }>,
  ): Promise<ProjectMember> {
    const { project, role } = await this.get(call, name);
    await this.requireProjectAdmin(call, role, 'manage members');
    const { kind, subject, role: given } = await input();
    if (!(await this.context.subjectExists(kind, subject)))
      throw adminFailure('NOT_FOUND', `no ${kind} named "${subject}"`);
    const member: ProjectMember = { project: project.name, subjectKind: kind, subject, role: given };
    await this.context.store.setMember(member);
    await this.context.changed(call, 'member.set', { project: project.name, kind, subject, role: given });
    return member;
  }

  async removeMember(call: AdminCall, name: string, input: Input<MemberChoice>): Promise<void> {
    const { project, role } = await this.get(call, name);
    await this.requireProjectAdmin(call, role, 'manage members');
    const { kind, subject } = await input();
    if (!(await this.context.store.removeMember(project.name, kind, subject)))
      throw adminFailure('NOT_FOUND', `${kind} "${subject}" is not a member of "${project.name}"`);
    await this.context.changed(call, 'member.removed', { project: project.name, kind, subject });
  }

  /** The project, for a caller who manages it (system admins, its project-admins): for project settings (retention, admission, trust, webhooks). */
  async managed(call: AdminCall, name: string, what: string): Promise<Project> {
    const { project, role } = await this.get(call, name);
    await this.requireProjectAdmin(call, role, what);
    return project;
  }

  /** The project, for its members and system admins: for reading project settings. */
  async joined(call: AdminCall, name: string, what: string): Promise<Project> {
    const { project, role } = await this.get(call, name);
    if (!isSystemAdmin(call.caller) && role === undefined)
      await this.context.deny(call, `only a project's members ${what}`);
    return project;
  }

  /** Writes a change of a project's settings to the audit log. */
  async recordChange(call: AdminCall, event: string, detail: Record<string, unknown>): Promise<void> {
    await this.context.changed(call, event, detail);
  }

  /** System admins, and users who are the project's `project-admin` (a robot never manages a project). */
  private async requireProjectAdmin(
    call: AdminCall,
    role: ProjectRole | undefined,
    what: string,
  ): Promise<void> {
    if (isSystemAdmin(call.caller) || (call.caller.kind === 'user' && role === 'project-admin')) return;
    await this.context.deny(call, `only system admins and the project's project-admins ${what}`);
  }

  private async policiesOf(caller: Caller): Promise<{ repo: string }[]> {
    const bound = await this.context.store.policiesFor(caller.kind, caller.name);
    return caller.kind === 'robot' ? [...caller.permissions, ...bound] : bound;
  }
}

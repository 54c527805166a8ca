import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccessService } from '../access/access-service.js';
import { PROJECT_ROLES, type ProjectRole } from '../access/principal.js';
import { globMatches } from '../access/repository-glob.js';
import type { MemberRecord, ProjectRecord } from '../metadata/access-store.js';
import { AdminError } from './admin-error.js';
import {
  type Caller,
  type CallerOf,
  changed,
  deny,
  isoTime,
  isSystemAdmin,
  parseInput,
  parseSubject,
  pathParam,
  projectNameSchema,
  readJson,
} from './admin-request.js';

const createProjectSchema = z.object({ name: projectNameSchema, public: z.boolean().optional() }).strict();
const updateProjectSchema = z.object({ public: z.boolean() }).strict();
const memberSchema = z.object({ role: z.enum(PROJECT_ROLES as [ProjectRole, ...ProjectRole[]]) }).strict();

function projectJson(project: ProjectRecord, role?: ProjectRole) {
  return {
    name: project.name,
    public: project.public,
    createdAt: isoTime(project.createdAt),
    ...(role ? { role } : {}),
  };
}

function memberJson(member: MemberRecord) {
  return { project: member.project, kind: member.subjectKind, subject: member.subject, role: member.role };
}

function asProjectRole(role: string | undefined): ProjectRole | undefined {
  return role !== undefined && (PROJECT_ROLES as readonly string[]).includes(role)
    ? (role as ProjectRole)
    : undefined;
}

/** Whether one of the policies reaches into the project: its first segment matches the project's name. */
function reaches(policies: { repo: string }[], project: string): boolean {
  return policies.some((p) => {
    const first = p.repo.startsWith('**') ? '**' : (p.repo.split('/')[0] ?? '');
    return first !== '' && globMatches(first, project);
  });
}

/**
 * Projects and their members. System admins create and delete projects; a project's `project-admin`
 * members manage its members and visibility. Anyone logged in lists the projects they can see: public ones,
 * their own, and those their robot permissions or policy roles reach; the others answer 404 as if absent.
 */
export function registerProjectRoutes(api: FastifyInstance, access: AccessService, callerOf: CallerOf): void {
  const store = access.store;

  const policiesOf = async (caller: Caller): Promise<{ repo: string }[]> => {
    const bound = await store.policiesFor(caller.kind, caller.name);
    return caller.kind === 'robot' ? [...caller.permissions, ...bound] : bound;
  };

  /** The project and the caller's role in it; 404 when it does not exist or the caller may not see it. */
  const visibleProject = async (
    request: FastifyRequest,
    caller: Caller,
  ): Promise<{ project: ProjectRecord; role: ProjectRole | undefined }> => {
    const name = parseInput(projectNameSchema, pathParam(request, 'name'), 'name');
    const project = await store.getProject(name);
    const role = project ? asProjectRole(await store.memberRole(name, caller.kind, caller.name)) : undefined;
    const visible =
      project &&
      (isSystemAdmin(caller) ||
        project.public ||
        role !== undefined ||
        reaches(await policiesOf(caller), name));
    if (!project || !visible) throw new AdminError('NOT_FOUND', `no project named "${name}"`);
    return { project, role };
  };

  /** System admins, and users who are the project's `project-admin`. */
  const requireProjectAdmin = async (
    request: FastifyRequest,
    caller: Caller,
    role: ProjectRole | undefined,
    what: string,
  ): Promise<void> => {
    if (isSystemAdmin(caller) || (caller.kind === 'user' && role === 'project-admin')) return;
    await deny(access, request, caller, `only system admins and the project's project-admins ${what}`);
  };

  api.get('/projects', async (request) => {
    const caller = callerOf(request);
    const policies = isSystemAdmin(caller) ? [] : await policiesOf(caller);
    const projects = [];
    for (const project of await store.listProjects()) {
      const role = asProjectRole(await store.memberRole(project.name, caller.kind, caller.name));
      if (isSystemAdmin(caller) || project.public || role || reaches(policies, project.name))
        projects.push(projectJson(project, role));
    }
    return { projects };
  });

  api.post('/projects', async (request, reply) => {
    const caller = callerOf(request);
    if (!isSystemAdmin(caller)) await deny(access, request, caller, 'only system admins create projects');
    const body = await readJson(request, createProjectSchema);
    const project: ProjectRecord = {
      name: body.name,
      public: body.public ?? false,
      createdAt: access.clock.now(),
    };
    if (!(await store.createProject(project)))
      throw new AdminError('CONFLICT', `project "${body.name}" exists`);
    await changed(access, request, caller, 'project.created', {
      project: project.name,
      public: project.public,
    });
    return reply.code(201).send(projectJson(project));
  });

  api.get('/projects/:name', async (request) => {
    const { project, role } = await visibleProject(request, callerOf(request));
    return projectJson(project, role);
  });

  api.patch('/projects/:name', async (request) => {
    const caller = callerOf(request);
    const { project, role } = await visibleProject(request, caller);
    await requireProjectAdmin(request, caller, role, 'change a project');
    const body = await readJson(request, updateProjectSchema);
    await store.updateProject(project.name, { public: body.public });
    await changed(access, request, caller, 'project.updated', { project: project.name, public: body.public });
    return projectJson({ ...project, public: body.public }, role);
  });

  api.delete('/projects/:name', async (request, reply) => {
    const caller = callerOf(request);
    if (!isSystemAdmin(caller)) await deny(access, request, caller, 'only system admins delete projects');
    const { project } = await visibleProject(request, caller);
    await store.deleteProject(project.name);
    await changed(access, request, caller, 'project.deleted', { project: project.name });
    return reply.code(204).send();
  });

  api.get('/projects/:name/members', async (request) => {
    const caller = callerOf(request);
    const { project, role } = await visibleProject(request, caller);
    if (!isSystemAdmin(caller) && role === undefined)
      await deny(access, request, caller, "only a project's members see its members");
    return { members: (await store.listMembers(project.name)).map(memberJson) };
  });

  api.put('/projects/:name/members/:kind/:subject', async (request) => {
    const caller = callerOf(request);
    const { project, role } = await visibleProject(request, caller);
    await requireProjectAdmin(request, caller, role, 'manage members');
    const { kind, subject } = parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject'));
    const body = await readJson(request, memberSchema);
    const exists = kind === 'user' ? await store.getUser(subject) : await store.getRobot(subject);
    if (!exists) throw new AdminError('NOT_FOUND', `no ${kind} named "${subject}"`);
    const member: MemberRecord = { project: project.name, subjectKind: kind, subject, role: body.role };
    await store.setMember(member);
    await changed(access, request, caller, 'member.set', {
      project: project.name,
      kind,
      subject,
      role: body.role,
    });
    return memberJson(member);
  });

  api.delete('/projects/:name/members/:kind/:subject', async (request, reply) => {
    const caller = callerOf(request);
    const { project, role } = await visibleProject(request, caller);
    await requireProjectAdmin(request, caller, role, 'manage members');
    const { kind, subject } = parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject'));
    if (!(await store.removeMember(project.name, kind, subject)))
      throw new AdminError('NOT_FOUND', `${kind} "${subject}" is not a member of "${project.name}"`);
    await changed(access, request, caller, 'member.removed', { project: project.name, kind, subject });
    return reply.code(204).send();
  });
}

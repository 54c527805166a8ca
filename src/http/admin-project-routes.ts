import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminService, Project, ProjectMember } from '../access/admin-service.js';
import { PROJECT_ROLES, type ProjectRole } from '../access/principal.js';
import {
  type CallOf,
  isoTime,
  parseInput,
  parseSubject,
  pathParam,
  projectNameSchema,
  readJson,
} from './admin-request.js';

const createProjectSchema = z.object({ name: projectNameSchema, public: z.boolean().optional() }).strict();
const updateProjectSchema = z.object({ public: z.boolean() }).strict();
const memberSchema = z.object({ role: z.enum(PROJECT_ROLES as [ProjectRole, ...ProjectRole[]]) }).strict();

function projectJson(project: Project, role?: ProjectRole) {
  return {
    name: project.name,
    public: project.public,
    createdAt: isoTime(project.createdAt),
    ...(role ? { role } : {}),
  };
}

function memberJson(member: ProjectMember) {
  return { project: member.project, kind: member.subjectKind, subject: member.subject, role: member.role };
}

/**
 * Projects and their members. Who sees and manages which project is the admin service's rule; a project
 * the caller may not see answers 404 as if absent.
 */
export function registerProjectRoutes(api: FastifyInstance, admin: AdminService, callOf: CallOf): void {
  const nameOf = (request: FastifyRequest): string =>
    parseInput(projectNameSchema, pathParam(request, 'name'), 'name');
  const subjectOf = (request: FastifyRequest) =>
    parseSubject(pathParam(request, 'kind'), pathParam(request, 'subject'));

  api.get('/projects', async (request) => ({
    projects: (await admin.projects.list(callOf(request))).map(({ project, role }) =>
      projectJson(project, role),
    ),
  }));

  api.post('/projects', async (request, reply) => {
    const project = await admin.projects.create(callOf(request), () =>
      readJson(request, createProjectSchema),
    );
    return reply.code(201).send(projectJson(project));
  });

  api.get('/projects/:name', async (request) => {
    const { project, role } = await admin.projects.get(callOf(request), nameOf(request));
    return projectJson(project, role);
  });

  api.patch('/projects/:name', async (request) => {
    const { project, role } = await admin.projects.update(callOf(request), nameOf(request), () =>
      readJson(request, updateProjectSchema),
    );
    return projectJson(project, role);
  });

  api.delete('/projects/:name', async (request, reply) => {
    await admin.projects.delete(callOf(request), () => ({ name: nameOf(request) }));
    return reply.code(204).send();
  });

  api.get('/projects/:name/members', async (request) => ({
    members: (await admin.projects.members(callOf(request), nameOf(request))).map(memberJson),
  }));

  api.put('/projects/:name/members/:kind/:subject', async (request) => {
    const member = await admin.projects.setMember(callOf(request), nameOf(request), async () => ({
      ...subjectOf(request),
      role: (await readJson(request, memberSchema)).role,
    }));
    return memberJson(member);
  });

  api.delete('/projects/:name/members/:kind/:subject', async (request, reply) => {
    await admin.projects.removeMember(callOf(request), nameOf(request), () => subjectOf(request));
    return reply.code(204).send();
  });
}

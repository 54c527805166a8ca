import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AdminService, isSystemAdmin } from '../access/admin-service.js';
import { projectOf } from '../access/principal.js';
import { RegistryError } from '../oci/errors.js';
import { isRepoName, type RepoName } from '../oci/names.js';
import type { RepositoryLifecycle } from '../registry/repository-lifecycle.js';
import { AdminError } from './admin-error.js';
import { type CallOf, parseInput, projectNameSchema } from './admin-request.js';

const storageQuerySchema = z.object({ project: projectNameSchema.optional() }).strict();

/**
 * `DELETE /repositories/{name}` (system admins and the project's project-admins) and `GET /storage` (what
 * each visible project stores; the whole store's totals for system admins).
 */
export function registerRepositoryRoutes(
  api: FastifyInstance,
  admin: AdminService,
  lifecycle: RepositoryLifecycle,
  callOf: CallOf,
): void {
  api.delete('/repositories/*', async (request) => {
    const call = callOf(request);
    const raw = (request.params as Record<string, string | undefined>)['*'] ?? '';
    if (raw.length > 255 || !isRepoName(raw))
      throw new AdminError('INVALID', 'name: a repository name such as project/image');
    const repo: RepoName = raw;
    const project = await admin.projects.managed(call, projectOf(repo), 'delete repositories');
    let removed: Awaited<ReturnType<RepositoryLifecycle['remove']>>;
    try {
      removed = await lifecycle.remove(repo);
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'DENIED')
        throw new AdminError('DENIED', error.message);
      if (error instanceof RegistryError && error.kind === 'NAME_UNKNOWN')
        throw new AdminError('NOT_FOUND', `no repository named "${repo}"`);
      throw error;
    }
    await admin.projects.recordChange(call, 'repository.deleted', {
      project: project.name,
      repository: repo,
      ...removed,
    });
    return { repository: repo, ...removed };
  });

  api.get('/storage', async (request) => {
    const call = callOf(request);
    const query = parseInput(storageQuerySchema, request.query, 'query');
    const projects =
      query.project !== undefined
        ? [(await admin.projects.get(call, query.project)).project.name]
        : (await admin.projects.list(call)).map((p) => p.project.name);
    return lifecycle.usage(projects, { store: query.project === undefined && isSystemAdmin(call.caller) });
  });
}

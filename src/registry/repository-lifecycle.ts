import { projectOf } from '../access/principal.js';
import { globMatches } from '../access/repository-glob.js';
import type { RepositoryRemoval, RepositoryStore, RepositoryUsage } from '../metadata/repository-store.js';
import { RegistryError } from '../oci/errors.js';
import type { RepoName } from '../oci/names.js';
import { describeRule, immutableBy } from '../policy/tag-immutability.js';
import type { TagImmutabilityGuard } from './tag-immutability-guard.js';

export type { RepositoryRemoval, RepositoryUsage } from '../metadata/repository-store.js';

/** One project's storage: its repositories, and its blobs counted once. */
export interface ProjectUsage {
  project: string;
  /** Sum of the repositories' logical bytes: a blob two repositories link counts twice. */
  logicalBytes: number;
  /** Bytes of the distinct blobs its repositories link: what the project holds on disk. */
  uniqueBytes: number;
  uniqueBlobs: number;
  uploads: number;
  repositories: RepositoryUsage[];
}

export interface StorageUsage {
  projects: ProjectUsage[];
  /** The whole store (admins only): every blob row, linked or not yet collected. */
  store?: { blobs: number; bytes: number } | undefined;
}

/**
 * Repositories as a whole: removing one (its tags, manifests and links in one transaction; garbage
 * collection frees the bytes nothing references any more) and what each project stores.
 */
export class RepositoryLifecycle {
  constructor(
    private readonly store: RepositoryStore,
    private readonly immutability?: TagImmutabilityGuard | undefined,
  ) {}

  /** Refused with `DENIED`, naming the rule, while an immutability rule holds one of its tags. */
  async remove(repo: RepoName): Promise<RepositoryRemoval> {
    const rules = this.immutability ? await this.immutability.rulesFor(repo) : [];
    const removed = await this.store.removeRepository(repo, (tags) => {
      for (const tag of tags) {
        const rule = immutableBy(rules, repo, tag, globMatches);
        if (rule)
          throw new RegistryError(
            'DENIED',
            { reason: 'immutable tag', repository: repo, tag, rule: rule.id },
            {},
            `tag ${tag} of ${repo} is immutable by ${describeRule(rule)}: the repository cannot be deleted`,
          );
      }
    });
    if (!removed) throw new RegistryError('NAME_UNKNOWN', { name: repo });
    return removed;
  }

  /** Usage of the given projects; `store` adds the totals of the whole blob store. */
  async usage(projects: string[], options: { store: boolean }): Promise<StorageUsage> {
    const result: StorageUsage = { projects: [] };
    for (const project of [...projects].sort()) {
      const repositories = (await this.store.repositoryUsage(project)).filter(
        (r) => projectOf(r.repository) === project,
      );
      const totals = await this.store.projectBlobTotals(project);
      result.projects.push({
        project,
        logicalBytes: repositories.reduce((sum, r) => sum + r.logicalBytes, 0),
        uniqueBytes: totals.uniqueBytes,
        uniqueBlobs: totals.uniqueBlobs,
        uploads: repositories.reduce((sum, r) => sum + r.uploads, 0),
        repositories,
      });
    }
    if (options.store) {
      const totals = await this.store.storeBlobTotals();
      result.store = { blobs: totals.uniqueBlobs, bytes: totals.uniqueBytes };
    }
    return result;
  }
}

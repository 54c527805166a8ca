import type { AdminApi } from './admin-api.js';

/** What `DELETE /api/v1/repositories/{name}` removed. */
export interface RepositoryRemovalJson {
  repository: string;
  tags: number;
  manifests: number;
  blobLinks: number;
}

export interface RepositoryUsageJson {
  repository: string;
  logicalBytes: number;
  blobs: number;
  manifests: number;
  tags: number;
  uploads: number;
}

export interface ProjectUsageJson {
  project: string;
  logicalBytes: number;
  uniqueBytes: number;
  uniqueBlobs: number;
  uploads: number;
  repositories: RepositoryUsageJson[];
}

/** `/api/v1/storage` as the server answers it. */
export interface StorageUsageJson {
  projects: ProjectUsageJson[];
  store?: { blobs: number; bytes: number };
}

/** Deletes a repository's tags, manifests and blob links; garbage collection frees the bytes later. */
export function removeRepository(api: AdminApi, repository: string): Promise<RepositoryRemovalJson> {
  return api.request('DELETE', `repositories/${repository}`);
}

export function storageUsage(api: AdminApi, project?: string): Promise<StorageUsageJson> {
  return api.request(
    'GET',
    project === undefined ? 'storage' : `storage?project=${encodeURIComponent(project)}`,
  );
}

import type { RepoName } from '../oci/names.js';

/** What removing a repository took away. */
export interface RepositoryRemoval {
  tags: number;
  manifests: number;
  /** Links to blobs: the bytes stay until garbage collection finds nothing references them. */
  blobLinks: number;
}

/** Bytes and counts of one repository. */
export interface RepositoryUsage {
  repository: RepoName;
  /** Sum of the sizes of the blobs it links and of its manifests: what a copy of it would weigh. */
  logicalBytes: number;
  blobs: number;
  manifests: number;
  tags: number;
  uploads: number;
}

/** Blobs of a project counted once however many of its repositories link them. */
export interface ProjectBlobTotals {
  uniqueBlobs: number;
  uniqueBytes: number;
}

/** Whole repositories: removing one in a transaction, and what each stores. */
export interface RepositoryStore {
  /**
   * In one transaction: reads the repository's tags, calls `check` with them (which throws to refuse), then
   * deletes its tags, manifests and blob links and the repository. Undefined when it does not exist.
   */
  removeRepository(
    name: RepoName,
    check: (tags: string[]) => void | Promise<void>,
  ): Promise<RepositoryRemoval | undefined>;
  /** Every repository with its usage, by name; `project` limits it to one project's repositories. */
  repositoryUsage(project?: string): Promise<RepositoryUsage[]>;
  /** Distinct blobs linked by the project's repositories. */
  projectBlobTotals(project: string): Promise<ProjectBlobTotals>;
  /** Distinct blobs stored at all (every project, and blobs nothing links yet or any more). */
  storeBlobTotals(): Promise<ProjectBlobTotals>;
}

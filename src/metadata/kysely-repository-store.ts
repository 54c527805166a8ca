import type { Kysely } from 'kysely';
import type { RepoName } from '../oci/names.js';
import type {
  ProjectBlobTotals,
  RepositoryRemoval,
  RepositoryStore,
  RepositoryUsage,
} from './repository-store.js';
import type { Database } from './schema.js';

/** Repositories as a whole, written once in Kysely for SQLite and PostgreSQL. */
export class KyselyRepositoryStore implements RepositoryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly postgres: boolean,
  ) {}

  removeRepository(
    name: RepoName,
    check: (tags: string[]) => void | Promise<void>,
  ): Promise<RepositoryRemoval | undefined> {
    return this.db.transaction().execute(async (tx) => {
      let lookup = tx.selectFrom('repositories').select('id').where('name', '=', name);
      // On PostgreSQL the row lock makes a concurrent push into the repository (whose rows reference it)
      // wait for this transaction; SQLite runs one writer at a time anyway.
      if (this.postgres) lookup = lookup.forUpdate();
      const row = await lookup.executeTakeFirst();
      if (!row) return undefined;
      const id = Number(row.id);
      const tags = (await tx.selectFrom('tags').select('name').where('repository_id', '=', id).execute()).map(
        (t) => t.name,
      );
      await check(tags);
      const manifestIds = tx.selectFrom('manifests').select('id').where('repository_id', '=', id);
      const removedTags = await tx.deleteFrom('tags').where('repository_id', '=', id).executeTakeFirst();
      await tx.deleteFrom('manifest_pulls').where('manifest_id', 'in', manifestIds).execute();
      await tx.deleteFrom('manifest_references').where('manifest_id', 'in', manifestIds).execute();
      const manifests = await tx.deleteFrom('manifests').where('repository_id', '=', id).executeTakeFirst();
      const links = await tx
        .deleteFrom('repository_blobs')
        .where('repository_id', '=', id)
        .executeTakeFirst();
      await tx.deleteFrom('repositories').where('id', '=', id).execute();
      return {
        tags: Number(removedTags.numDeletedRows),
        manifests: Number(manifests.numDeletedRows),
        blobLinks: Number(links.numDeletedRows),
      };
    });
  }

  async repositoryUsage(project?: string): Promise<RepositoryUsage[]> {
    let repos = this.db.selectFrom('repositories').select(['id', 'name']).orderBy('name');
    if (project !== undefined)
      repos = repos.where((eb) =>
        eb.or([
          eb('name', '=', project),
          eb(eb.fn('substr', ['name', eb.val(1), eb.val(project.length + 1)]), '=', `${project}/`),
        ]),
      );
    const rows = await repos.execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.id));
    const byId = new Map<number, RepositoryUsage>(
      rows.map((r) => [
        Number(r.id),
        {
          repository: r.name as RepoName,
          logicalBytes: 0,
          blobs: 0,
          manifests: 0,
          tags: 0,
          uploads: 0,
        },
      ]),
    );
    // Grouped queries, one per table, over at most the repositories asked for.
    for (const part of chunked(ids)) {
      const blobs = await this.db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select((eb) => [
          'repository_blobs.repository_id as id',
          eb.fn.countAll<number | string>().as('count'),
          eb.fn.sum<number | string>('blobs.size').as('bytes'),
        ])
        .where('repository_blobs.repository_id', 'in', part)
        .groupBy('repository_blobs.repository_id')
        .execute();
      for (const b of blobs) {
        const usage = byId.get(Number(b.id));
        if (!usage) continue;
        usage.blobs = Number(b.count);
        usage.logicalBytes += Number(b.bytes ?? 0);
      }
      const manifests = await this.db
        .selectFrom('manifests')
        .select((eb) => [
          'repository_id as id',
          eb.fn.countAll<number | string>().as('count'),
          eb.fn.sum<number | string>('size').as('bytes'),
        ])
        .where('repository_id', 'in', part)
        .groupBy('repository_id')
        .execute();
      for (const m of manifests) {
        const usage = byId.get(Number(m.id));
        if (!usage) continue;
        usage.manifests = Number(m.count);
        usage.logicalBytes += Number(m.bytes ?? 0);
      }
      const tags = await this.db
        .selectFrom('tags')
        .select((eb) => ['repository_id as id', eb.fn.countAll<number | string>().as('count')])
        .where('repository_id', 'in', part)
        .groupBy('repository_id')
        .execute();
      for (const t of tags) {
        const usage = byId.get(Number(t.id));
        if (usage) usage.tags = Number(t.count);
      }
    }
    const byName = new Map([...byId.values()].map((u) => [u.repository as string, u]));
    const uploads = await this.db
      .selectFrom('uploads')
      .select((eb) => ['repository', eb.fn.countAll<number | string>().as('count')])
      .groupBy('repository')
      .execute();
    for (const u of uploads) {
      const usage = byName.get(u.repository);
      if (usage) usage.uploads = Number(u.count);
    }
    return [...byId.values()];
  }

  async projectBlobTotals(project: string): Promise<ProjectBlobTotals> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.sum<number | string>('size').as('bytes'),
      ])
      .where('digest', 'in', (eb) =>
        eb
          .selectFrom('repository_blobs')
          .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
          .select('repository_blobs.digest')
          .where((w) =>
            w.or([
              w('repositories.name', '=', project),
              w(
                w.fn('substr', ['repositories.name', w.val(1), w.val(project.length + 1)]),
                '=',
                `${project}/`,
              ),
            ]),
          ),
      )
      .executeTakeFirstOrThrow();
    return { uniqueBlobs: Number(row.count), uniqueBytes: Number(row.bytes ?? 0) };
  }

  async storeBlobTotals(): Promise<ProjectBlobTotals> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.sum<number | string>('size').as('bytes'),
      ])
      .executeTakeFirstOrThrow();
    return { uniqueBlobs: Number(row.count), uniqueBytes: Number(row.bytes ?? 0) };
  }
}

// Bound parameters per query stay under SQLite's limit.
function chunked(ids: number[]): number[][] {
  const parts: number[][] = [];
  for (let i = 0; i < ids.length; i += 500) parts.push(ids.slice(i, i + 500));
  return parts;
}

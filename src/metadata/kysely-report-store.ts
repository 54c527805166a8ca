import { type Kysely, sql } from 'kysely';
import type { ReportStore, RepositoryCountRow, StoredBytesRow, TagActivityRow } from './report-store.js';
import type { Database } from './schema.js';

const DAY_MS = 86_400_000;

/** A project's repositories are the names in [`project/`, `project0`): '0' follows '/' in byte order. */
function projectRange(project: string): [string, string] {
  return [`${project}/`, `${project}0`];
}

function countRows(
  rows: { repository: string | null; count: number | string | bigint }[],
): RepositoryCountRow[] {
  return rows
    .filter((r): r is typeof r & { repository: string } => r.repository !== null)
    .map((r) => ({ repository: r.repository, count: Number(r.count) }));
}

/** The report's queries on SQLite and PostgreSQL (integer division of bigints is integer on both). */
export class KyselyReportStore implements ReportStore {
  constructor(private readonly db: Kysely<Database>) {}

  async storedBytesByDay(project: string | undefined): Promise<StoredBytesRow[]> {
    if (project === undefined) {
      const rows = await this.db
        .selectFrom('blobs')
        .select((eb) => [
          sql<number>`blobs.created_at / ${sql.lit(DAY_MS)}`.as('day'),
          eb.fn.sum<number | string>('blobs.size').as('bytes'),
          eb.fn.countAll<number | string>().as('blobs'),
        ])
        .where('blobs.gc_state', 'is', null)
        .groupBy(sql`blobs.created_at / ${sql.lit(DAY_MS)}`)
        .execute();
      return rows.map((r) => ({ day: Number(r.day), bytes: Number(r.bytes), blobs: Number(r.blobs) }));
    }
    const [from, to] = projectRange(project);
    const rows = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .select((eb) => [
        sql<number>`repository_blobs.created_at / ${sql.lit(DAY_MS)}`.as('day'),
        eb.fn.sum<number | string>('blobs.size').as('bytes'),
        eb.fn.countAll<number | string>().as('blobs'),
      ])
      .where('repositories.name', '>=', from)
      .where('repositories.name', '<', to)
      .groupBy(sql`repository_blobs.created_at / ${sql.lit(DAY_MS)}`)
      .execute();
    return rows.map((r) => ({ day: Number(r.day), bytes: Number(r.bytes), blobs: Number(r.blobs) }));
  }

  async eventCounts(
    type: 'push' | 'pull',
    since: number,
    project: string | undefined,
  ): Promise<RepositoryCountRow[]> {
    let q = this.db
      .selectFrom('events')
      .select((eb) => ['repository', eb.fn.countAll<number | string>().as('count')])
      .where('type', '=', type)
      .where('at', '>=', since)
      .where('repository', 'is not', null)
      .groupBy('repository');
    if (project !== undefined) {
      const [from, to] = projectRange(project);
      q = q.where('repository', '>=', from).where('repository', '<', to);
    }
    return countRows(await q.execute());
  }

  async refusedPushes(since: number, project: string | undefined): Promise<RepositoryCountRow[]> {
    let q = this.db
      .selectFrom('audit_log')
      .select((eb) => ['repository', eb.fn.countAll<number | string>().as('count')])
      .where('event', '=', 'access.denied')
      .where('action', '=', 'push')
      .where('at', '>=', since)
      .where('repository', 'is not', null)
      .groupBy('repository');
    if (project !== undefined) {
      const [from, to] = projectRange(project);
      q = q.where('repository', '>=', from).where('repository', '<', to);
    }
    return countRows(await q.execute());
  }

  async tagActivity(project: string | undefined, limit: number): Promise<TagActivityRow[]> {
    let q = this.db
      .selectFrom('tags')
      .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
      .innerJoin('manifests', 'manifests.id', 'tags.manifest_id')
      .leftJoin('manifest_pulls', 'manifest_pulls.manifest_id', 'manifests.id')
      .select([
        'repositories.name as repository',
        'tags.name as tag',
        'manifests.digest as digest',
        'tags.updated_at as pushedAt',
        'manifest_pulls.pulled_at as pulledAt',
      ])
      .orderBy(sql`coalesce(manifest_pulls.pulled_at, tags.updated_at)`)
      .orderBy('repositories.name')
      .orderBy('tags.name')
      .limit(limit);
    if (project !== undefined) {
      const [from, to] = projectRange(project);
      q = q.where('repositories.name', '>=', from).where('repositories.name', '<', to);
    }
    return (await q.execute()).map((r) => ({
      repository: r.repository,
      tag: r.tag,
      digest: r.digest,
      pushedAt: Number(r.pushedAt),
      pulledAt: r.pulledAt === null ? null : Number(r.pulledAt),
    }));
  }
}

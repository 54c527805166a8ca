import { type Kysely, sql, type Transaction } from 'kysely';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import type {
  NewRetentionRun,
  PullRecord,
  RetentionPolicyRecord,
  RetentionRunRecord,
  RetentionStore,
  RetentionTagRow,
  UntaggedManifestRow,
} from './retention-store.js';
import type { Database } from './schema.js';

const IN_LIST_CHUNK = 500;

/**
 * The project's repositories are the names from `project/` up to (not including) `project0`: `0` follows `/`
 * in byte order, and names are compared in byte order on both dialects (PostgreSQL's column is `collate "C"`).
 */
function projectRange(project: string): [string, string] {
  return [`${project}/`, `${project}0`];
}

function policyRecord(row: Database['retention_policies']): RetentionPolicyRecord {
  return {
    project: row.project,
    policy: JSON.parse(row.policy),
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

export class KyselyRetentionStore implements RetentionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getPolicy(project: string): Promise<RetentionPolicyRecord | undefined> {
    const row = await this.db
      .selectFrom('retention_policies')
      .selectAll()
      .where('project', '=', project)
      .executeTakeFirst();
    return row ? policyRecord(row) : undefined;
  }

  async setPolicy(record: RetentionPolicyRecord): Promise<void> {
    const values = {
      policy: JSON.stringify(record.policy),
      updated_at: record.updatedAt,
      updated_by: record.updatedBy,
    };
    await this.db
      .insertInto('retention_policies')
      .values({ project: record.project, ...values })
      .onConflict((oc) => oc.column('project').doUpdateSet(values))
      .execute();
  }

  async deletePolicy(project: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('retention_policies')
      .where('project', '=', project)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listPolicies(): Promise<RetentionPolicyRecord[]> {
    const rows = await this.db.selectFrom('retention_policies').selectAll().orderBy('project').execute();
    return rows.map(policyRecord);
  }

  async recordPulls(pulls: PullRecord[]): Promise<void> {
    if (pulls.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < pulls.length; i += IN_LIST_CHUNK) {
        const rows = pulls
          .slice(i, i + IN_LIST_CHUNK)
          .map((p) => sql`(cast(${p.manifestId} as bigint), cast(${p.at} as bigint))`);
        // One statement per chunk; joined with manifests so a manifest deleted since the pull writes nothing.
        // `where true` lets SQLite tell the upsert's `on conflict` from a join condition.
        await sql`insert into manifest_pulls (manifest_id, pulled_at)
          select m.id, v.column2 from (values ${sql.join(rows)}) as v
          join manifests m on m.id = v.column1 where true
          on conflict (manifest_id) do update set pulled_at = case
            when excluded.pulled_at > manifest_pulls.pulled_at then excluded.pulled_at
            else manifest_pulls.pulled_at end`.execute(trx);
      }
    });
  }

  async projectTags(project: string): Promise<RetentionTagRow[]> {
    const [from, to] = projectRange(project);
    const rows = await this.db
      .selectFrom('tags')
      .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
      .innerJoin('manifests', 'manifests.id', 'tags.manifest_id')
      .leftJoin('manifest_pulls', 'manifest_pulls.manifest_id', 'manifests.id')
      .select([
        'repositories.name as repository',
        'tags.name as tag',
        'manifests.id as manifestId',
        'manifests.digest as digest',
        'tags.updated_at as pushedAt',
        'manifest_pulls.pulled_at as pulledAt',
        'manifests.size as manifestSize',
      ])
      .where('repositories.name', '>=', from)
      .where('repositories.name', '<', to)
      .orderBy('repositories.name')
      .orderBy('tags.name')
      .execute();
    const blobsOf = new Map<number, { digest: Digest; size: number }[]>();
    const ids = [...new Set(rows.map((r) => Number(r.manifestId)))];
    for (let i = 0; i < ids.length; i += IN_LIST_CHUNK) {
      const refs = await this.db
        .selectFrom('manifest_references')
        .innerJoin('blobs', 'blobs.digest', 'manifest_references.digest')
        .select(['manifest_references.manifest_id', 'blobs.digest', 'blobs.size'])
        .where('manifest_references.kind', '=', 'blob')
        .where('manifest_references.manifest_id', 'in', ids.slice(i, i + IN_LIST_CHUNK))
        .execute();
      for (const ref of refs) {
        const id = Number(ref.manifest_id);
        const list = blobsOf.get(id) ?? [];
        list.push({ digest: ref.digest as Digest, size: Number(ref.size) });
        blobsOf.set(id, list);
      }
    }
    return rows.map((r) => ({
      repository: r.repository as RepoName,
      tag: r.tag,
      manifestId: Number(r.manifestId),
      digest: r.digest as Digest,
      pushedAt: Number(r.pushedAt),
      pulledAt: r.pulledAt === null ? null : Number(r.pulledAt),
      manifestSize: Number(r.manifestSize),
      blobs: blobsOf.get(Number(r.manifestId)) ?? [],
    }));
  }

  async untaggedManifests(project: string): Promise<UntaggedManifestRow[]> {
    const [from, to] = projectRange(project);
    const rows = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories', 'repositories.id', 'm.repository_id')
      .select((eb) => [
        'repositories.name as repository',
        'm.digest',
        'm.created_at',
        'm.size',
        eb
          .or([
            eb.exists(
              eb
                .selectFrom('manifest_references as r')
                .innerJoin('manifests as parent', 'parent.id', 'r.manifest_id')
                .select('r.manifest_id')
                .whereRef('r.digest', '=', 'm.digest')
                .where('r.kind', '=', 'manifest')
                .whereRef('parent.repository_id', '=', 'm.repository_id'),
            ),
            eb.exists(
              eb
                .selectFrom('manifests as s')
                .select('s.id')
                .whereRef('s.repository_id', '=', 'm.repository_id')
                .whereRef('s.digest', '=', 'm.subject_digest'),
            ),
          ])
          .as('needed'),
      ])
      .where('repositories.name', '>=', from)
      .where('repositories.name', '<', to)
      .where((eb) =>
        eb.not(
          eb.exists(eb.selectFrom('tags').select('tags.name').whereRef('tags.manifest_id', '=', 'm.id')),
        ),
      )
      .orderBy('repositories.name')
      .orderBy('m.digest')
      .execute();
    return rows.map((r) => ({
      repository: r.repository as RepoName,
      digest: r.digest as Digest,
      createdAt: Number(r.created_at),
      size: Number(r.size),
      needed: Boolean(Number(r.needed)),
    }));
  }

  async deleteTagIfAt(repository: RepoName, tag: string, manifestId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('name', '=', tag)
      .where('manifest_id', '=', manifestId)
      .where('repository_id', '=', (eb) =>
        eb.selectFrom('repositories').select('id').where('name', '=', repository),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteUntaggedManifest(repository: RepoName, digest: Digest): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('manifests')
        .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
        .select(['manifests.id', 'manifests.repository_id', 'manifests.subject_digest'])
        .where('repositories.name', '=', repository)
        .where('manifests.digest', '=', digest)
        .executeTakeFirst();
      if (!row) return false;
      if (await stillNeeded(trx, Number(row.id), Number(row.repository_id), digest, row.subject_digest))
        return false;
      await trx.deleteFrom('manifest_pulls').where('manifest_id', '=', row.id).execute();
      await trx.deleteFrom('manifest_references').where('manifest_id', '=', row.id).execute();
      await trx.deleteFrom('manifests').where('id', '=', row.id).execute();
      return true;
    });
  }

  async addRun(run: NewRetentionRun): Promise<number> {
    const row = await this.db
      .insertInto('retention_runs')
      .values({
        project: run.project,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        trigger: run.trigger,
        actor: run.actor,
        dry_run: run.dryRun ? 1 : 0,
        forced: run.forced ? 1 : 0,
        status: run.status,
        deleted_tags: run.deletedTags,
        deleted_manifests: run.deletedManifests,
        bytes_freed: run.bytesFreed,
        result: JSON.stringify(run.result),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async listRuns(project: string, limit: number, before?: number): Promise<RetentionRunRecord[]> {
    let q = this.db
      .selectFrom('retention_runs')
      .selectAll()
      .where('project', '=', project)
      .orderBy('id', 'desc')
      .limit(limit);
    if (before !== undefined) q = q.where('id', '<', before);
    return (await q.execute()).map((r) => ({
      id: Number(r.id),
      project: r.project,
      startedAt: Number(r.started_at),
      finishedAt: Number(r.finished_at),
      trigger: r.trigger,
      actor: r.actor,
      dryRun: Number(r.dry_run) === 1,
      forced: Number(r.forced) === 1,
      status: r.status,
      deletedTags: Number(r.deleted_tags),
      deletedManifests: Number(r.deleted_manifests),
      bytesFreed: Number(r.bytes_freed),
      result: JSON.parse(r.result),
    }));
  }
}

/** Checked inside the delete's transaction: a tag, an index of the repository or a present subject keeps it. */
async function stillNeeded(
  trx: Transaction<Database>,
  manifestId: number,
  repositoryId: number,
  digest: Digest,
  subject: string | null,
): Promise<boolean> {
  const tagged = await trx
    .selectFrom('tags')
    .select('name')
    .where('manifest_id', '=', manifestId)
    .executeTakeFirst();
  if (tagged) return true;
  const listed = await trx
    .selectFrom('manifest_references as r')
    .innerJoin('manifests as parent', 'parent.id', 'r.manifest_id')
    .select('r.manifest_id')
    .where('r.digest', '=', digest)
    .where('r.kind', '=', 'manifest')
    .where('parent.repository_id', '=', repositoryId)
    .executeTakeFirst();
  if (listed) return true;
  if (subject === null) return false;
  const present = await trx
    .selectFrom('manifests')
    .select('id')
    .where('repository_id', '=', repositoryId)
    .where('digest', '=', subject)
    .executeTakeFirst();
  return present !== undefined;
}

import { type Kysely, type Selectable, sql } from 'kysely';
import type { Digest } from '../oci/digest.js';
import type { GcBlob, GcProgress, GcRunRecord, GcRunStatus, GcStore, NewGcRun } from './gc-store.js';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';

function runRecord(row: Selectable<Database['gc_runs']>): GcRunRecord {
  return {
    id: Number(row.id),
    status: row.status as GcRunStatus,
    trigger: row.trigger,
    dryRun: Number(row.dry_run) === 1,
    untagged: Number(row.untagged) === 1,
    graceMs: Number(row.grace_ms),
    cutoff: Number(row.cutoff),
    startedAt: Number(row.started_at),
    ...(row.finished_at !== null ? { finishedAt: Number(row.finished_at) } : {}),
    ...(row.checkpoint !== null ? { checkpoint: row.checkpoint as Digest } : {}),
    blobsExamined: Number(row.blobs_examined),
    bytesExamined: Number(row.bytes_examined),
    blobsFreed: Number(row.blobs_freed),
    bytesFreed: Number(row.bytes_freed),
    manifestsFreed: Number(row.manifests_freed),
    uploadsPurged: Number(row.uploads_purged),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

const toBlob = (row: { digest: string; size: number }): GcBlob => ({
  digest: row.digest as Digest,
  size: Number(row.size),
});

/** The collector's queries on SQLite and PostgreSQL. */
export class KyselyGcStore implements GcStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async blobPage(after: Digest | undefined, limit: number): Promise<GcBlob[]> {
    let q = this.db.selectFrom('blobs').select(['digest', 'size']).orderBy('digest').limit(limit);
    if (after !== undefined) q = q.where('digest', '>', after);
    return (await q.execute()).map(toBlob);
  }

  async markBlobs(digests: Digest[], cutoff: number, mark: boolean): Promise<GcBlob[]> {
    if (digests.length === 0) return [];
    if (!mark) {
      const rows = await this.db
        .selectFrom('blobs')
        .select(['digest', 'size'])
        .where('digest', 'in', digests)
        .where('gc_state', 'is', null)
        .where('referenced_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('manifest_references')
                .select(sql<number>`1`.as('one'))
                .whereRef('manifest_references.digest', '=', 'blobs.digest'),
            ),
          ),
        )
        .execute();
      return rows.map(toBlob);
    }
    // One statement: a commit, mount or manifest PUT that touched the row first leaves it out (its
    // reference time is past the cutoff, or its references exist); one that comes later finds it marked.
    const rows = await this.db
      .updateTable('blobs')
      .set({ gc_state: 'deleting' })
      .where('digest', 'in', digests)
      .where('gc_state', 'is', null)
      .where('referenced_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_references')
              .select(sql<number>`1`.as('one'))
              .whereRef('manifest_references.digest', '=', 'blobs.digest'),
          ),
        ),
      )
      .returning(['digest', 'size'])
      .execute();
    return rows.map(toBlob);
  }

  async markedBlobs(limit: number): Promise<GcBlob[]> {
    const rows = await this.db
      .selectFrom('blobs')
      .select(['digest', 'size'])
      .where('gc_state', '=', 'deleting')
      .orderBy('digest')
      .limit(limit)
      .execute();
    return rows.map(toBlob);
  }

  async dropMarkedBlobs(digests: Digest[]): Promise<void> {
    if (digests.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('repository_blobs').where('digest', 'in', digests).execute();
      await trx
        .deleteFrom('blobs')
        .where('digest', 'in', digests)
        .where('gc_state', '=', 'deleting')
        .execute();
    });
  }

  async untaggedManifests(cutoff: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('manifests as m')
      .select('m.id')
      .where('m.created_at', '<', cutoff)
      .where((eb) =>
        eb.and([
          eb.not(
            eb.exists(
              eb
                .selectFrom('tags')
                .select(sql<number>`1`.as('one'))
                .whereRef('tags.manifest_id', '=', 'm.id'),
            ),
          ),
          eb.not(
            eb.exists(
              eb
                .selectFrom('manifest_references as r')
                .innerJoin('manifests as parent', 'parent.id', 'r.manifest_id')
                .select(sql<number>`1`.as('one'))
                .where('r.kind', '=', 'manifest')
                .whereRef('r.digest', '=', 'm.digest')
                .whereRef('parent.repository_id', '=', 'm.repository_id'),
            ),
          ),
          eb.or([
            eb('m.subject_digest', 'is', null),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('manifests as s')
                  .select(sql<number>`1`.as('one'))
                  .whereRef('s.repository_id', '=', 'm.repository_id')
                  .whereRef('s.digest', '=', 'm.subject_digest'),
              ),
            ),
          ]),
        ]),
      )
      .orderBy('m.id')
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.id));
  }

  async deleteUntaggedManifest(id: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The row lock makes a concurrent PUT of the same manifest (which reads it FOR SHARE) either finish
      // first, so that its tag is seen below, or find the manifest gone and store it again.
      let q = trx.selectFrom('manifests').select(['id', 'digest', 'repository_id']).where('id', '=', id);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const row = await q.executeTakeFirst();
      if (!row) return false;
      const tagged = await trx
        .selectFrom('tags')
        .select('name')
        .where('manifest_id', '=', id)
        .executeTakeFirst();
      if (tagged) return false;
      const listed = await trx
        .selectFrom('manifest_references as r')
        .innerJoin('manifests as parent', 'parent.id', 'r.manifest_id')
        .select('r.manifest_id')
        .where('r.kind', '=', 'manifest')
        .where('r.digest', '=', row.digest)
        .where('parent.repository_id', '=', row.repository_id)
        .executeTakeFirst();
      if (listed) return false;
      await trx.deleteFrom('manifest_references').where('manifest_id', '=', id).execute();
      await trx.deleteFrom('manifests').where('id', '=', id).execute();
      return true;
    });
  }

  async createRun(run: NewGcRun): Promise<GcRunRecord> {
    const row = await this.db
      .insertInto('gc_runs')
      .values({
        status: 'running',
        trigger: run.trigger,
        dry_run: run.dryRun ? 1 : 0,
        untagged: run.untagged ? 1 : 0,
        grace_ms: run.graceMs,
        cutoff: run.cutoff,
        started_at: run.startedAt,
        finished_at: null,
        checkpoint: null,
        error: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return runRecord(row);
  }

  async saveProgress(id: number, p: GcProgress, checkpoint: Digest | undefined): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({
        checkpoint: checkpoint ?? null,
        blobs_examined: p.blobsExamined,
        bytes_examined: p.bytesExamined,
        blobs_freed: p.blobsFreed,
        bytes_freed: p.bytesFreed,
        manifests_freed: p.manifestsFreed,
        uploads_purged: p.uploadsPurged,
      })
      .where('id', '=', id)
      .execute();
  }

  async finishRun(
    id: number,
    status: Exclude<GcRunStatus, 'running'>,
    finishedAt: number,
    error?: string,
  ): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({ status, finished_at: finishedAt, error: error ?? null })
      .where('id', '=', id)
      .execute();
  }

  async interruptRunning(): Promise<number[]> {
    const rows = await this.db
      .updateTable('gc_runs')
      .set({ status: 'interrupted' })
      .where('status', '=', 'running')
      .returning('id')
      .execute();
    return rows.map((r) => Number(r.id));
  }

  async resumeRun(id: number): Promise<GcRunRecord | undefined> {
    const row = await this.db
      .updateTable('gc_runs')
      .set({ status: 'running' })
      .where('id', '=', id)
      .where('status', '=', 'interrupted')
      .returningAll()
      .executeTakeFirst();
    return row ? runRecord(row) : undefined;
  }

  async latestInterrupted(): Promise<GcRunRecord | undefined> {
    const row = await this.db
      .selectFrom('gc_runs')
      .selectAll()
      .where('status', '=', 'interrupted')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? runRecord(row) : undefined;
  }

  async run(id: number): Promise<GcRunRecord | undefined> {
    const row = await this.db.selectFrom('gc_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? runRecord(row) : undefined;
  }

  async history(limit: number, before?: number): Promise<GcRunRecord[]> {
    let q = this.db.selectFrom('gc_runs').selectAll().orderBy('id', 'desc').limit(limit);
    if (before !== undefined) q = q.where('id', '<', before);
    return (await q.execute()).map(runRecord);
  }
}

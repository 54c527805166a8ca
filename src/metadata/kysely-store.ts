import { type Kysely, Migrator, type Selectable, sql, type Transaction } from 'kysely';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepoName } from '../oci/names.js';
import type { AccessStore } from './access-store.js';
import type { AdmissionStore } from './admission-store.js';
import type { EventStore, NewEvent } from './event-store.js';
import type { GcStore } from './gc-store.js';
import type { ImmutabilityStore } from './immutability-store.js';
import { KyselyAccessStore } from './kysely-access-store.js';
import { KyselyAdmissionStore } from './kysely-admission-store.js';
import { insertEvents, KyselyEventStore } from './kysely-event-store.js';
import { KyselyGcStore } from './kysely-gc-store.js';
import { KyselyImmutabilityStore } from './kysely-immutability-store.js';
import { KyselyLeaseStore } from './kysely-lease-store.js';
import { KyselyReportStore } from './kysely-report-store.js';
import { KyselyRepositoryStore } from './kysely-repository-store.js';
import { KyselyRetentionStore } from './kysely-retention-store.js';
import { KyselyTrustStore } from './kysely-trust-store.js';
import { KyselyWebhookStore } from './kysely-webhook-store.js';
import type { LeaseStore } from './lease-store.js';
import type {
  BlobDependents,
  ManifestLookup,
  ManifestRecord,
  ManifestWithContent,
  MetadataQueries,
  MetadataStore,
  NewManifest,
  Page,
  TaggedUser,
  UploadRecord,
} from './metadata-store.js';
import { type Dialect, migrations } from './migrations.js';
import type { ReportStore } from './report-store.js';
import type { RepositoryStore } from './repository-store.js';
import type { RetentionStore } from './retention-store.js';
import type { Database } from './schema.js';
import type { TrustStore } from './trust-store.js';
import type { WebhookStore } from './webhook-store.js';

type Db = Kysely<Database> | Transaction<Database>;

const MANIFEST_INFO = [
  'manifests.id',
  'manifests.repository_id',
  'manifests.digest',
  'manifests.media_type',
  'manifests.artifact_type',
  'manifests.subject_digest',
  'manifests.annotations',
  'manifests.size',
  'manifests.created_at',
] as const;

type ManifestInfoRow = Omit<Selectable<Database['manifests']>, 'content'>;

function toRecord(row: ManifestInfoRow): ManifestRecord {
  return {
    id: Number(row.id),
    repositoryId: Number(row.repository_id),
    digest: row.digest as Digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    subjectDigest: row.subject_digest as Digest | null,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    size: Number(row.size),
    createdAt: Number(row.created_at),
  };
}

/** The later of a blob's reference time and `time`: a claim that reaches further ahead is kept. */
function laterOf(time: number) {
  return sql<number>`case when blobs.referenced_at > ${time} then blobs.referenced_at else ${time} end`;
}

// SQLite allows at most 32766 bound parameters; stay far below for IN lists.
const IN_LIST_CHUNK = 500;

function chunks<T>(values: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += IN_LIST_CHUNK) out.push(values.slice(i, i + IN_LIST_CHUNK));
  return out;
}

/** The registry's queries, written once in Kysely for both SQLite and PostgreSQL. */
class KyselyQueries implements MetadataQueries {
  constructor(
    protected readonly db: Db,
    /** PostgreSQL takes row locks (`FOR SHARE`); SQLite has none and runs one write transaction at a time. */
    private readonly rowLocks = false,
  ) {}

  async repositoryId(name: RepoName): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repositories')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  async ensureRepository(name: RepoName): Promise<number> {
    const existing = await this.repositoryId(name);
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const id = await this.repositoryId(name);
    if (id === undefined) throw new Error(`repository row for ${name} vanished`);
    return id;
  }

  async listRepositories(page: Page): Promise<RepoName[]> {
    let q = this.db.selectFrom('repositories').select('name').orderBy('name');
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name as RepoName);
  }

  async linkBlob(repositoryId: number, digest: Digest, size: number, now = Date.now()): Promise<void> {
    // A blob a collector marked is never revived (its bytes may be going): the caller claimed it first
    // (`claimBlob`), so finding it marked here means the claim ran out, and the caller must try again.
    await this.db
      .insertInto('blobs')
      .values({ digest, size, created_at: now, referenced_at: now })
      .onConflict((oc) =>
        oc
          .column('digest')
          .doUpdateSet({ referenced_at: laterOf(now) })
          .where('blobs.gc_state', 'is', null),
      )
      .execute();
    const row = await this.db
      .selectFrom('blobs')
      .select('gc_state')
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (row?.gc_state === 'deleting') {
      throw new RegistryError('UNAVAILABLE', { reason: 'the blob is being garbage collected', digest });
    }
    await this.db
      .insertInto('repository_blobs')
      .values({ repository_id: repositoryId, digest, created_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
      .execute();
  }

  async claimBlob(digest: Digest, size: number, now: number, until: number): Promise<'claimed' | 'deleting'> {
    // No bytes yet, and no link: nobody reads a blob through this row, it only keeps a collector away.
    await this.db
      .insertInto('blobs')
      .values({ digest, size, created_at: now, referenced_at: until })
      .onConflict((oc) =>
        oc
          .column('digest')
          .doUpdateSet({ referenced_at: laterOf(until) })
          .where('blobs.gc_state', 'is', null),
      )
      .execute();
    const row = await this.db
      .selectFrom('blobs')
      .select('gc_state')
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row?.gc_state === 'deleting' ? 'deleting' : 'claimed';
  }

  async touchBlobs(digests: Digest[], now: number): Promise<Set<Digest>> {
    const touched = new Set<Digest>();
    for (const part of chunks([...new Set(digests)])) {
      const rows = await this.db
        .updateTable('blobs')
        .set({ referenced_at: laterOf(now) })
        .where('digest', 'in', part)
        .where('gc_state', 'is', null)
        .returning('digest')
        .execute();
      for (const r of rows) touched.add(r.digest as Digest);
    }
    return touched;
  }

  async linkedBlobSize(name: RepoName, digest: Digest): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repositories.name', '=', name)
      .where('repository_blobs.digest', '=', digest)
      .where('blobs.gc_state', 'is', null)
      .executeTakeFirst();
    return row ? Number(row.size) : undefined;
  }

  async unlinkedBlobs(repositoryId: number, digests: Digest[]): Promise<Digest[]> {
    return this.absentFrom('repository_blobs', repositoryId, digests);
  }

  async unlinkBlob(name: RepoName, digest: Digest): Promise<boolean> {
    const id = await this.repositoryId(name);
    if (id === undefined) return false;
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', id)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async missingManifests(repositoryId: number, digests: Digest[]): Promise<Digest[]> {
    return this.absentFrom('manifests', repositoryId, digests);
  }

  /** Of the digests, those with no row of the repository in the table. */
  private async absentFrom(
    table: 'repository_blobs' | 'manifests',
    repositoryId: number,
    digests: Digest[],
  ): Promise<Digest[]> {
    const present = new Set<string>();
    for (const part of chunks(digests)) {
      const rows = await this.db
        .selectFrom(table)
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', part)
        .execute();
      for (const r of rows) present.add(r.digest);
    }
    return digests.filter((d) => !present.has(d));
  }

  async putManifest(repositoryId: number, m: NewManifest): Promise<number> {
    let existingQuery = this.db
      .selectFrom('manifests')
      .select('id')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', m.digest);
    // Held until the tags commit: a collector deleting this manifest as untagged waits, then sees them.
    if (this.rowLocks) existingQuery = existingQuery.forShare();
    const existing = await existingQuery.executeTakeFirst();
    if (existing) return Number(existing.id);
    const inserted = await this.db
      .insertInto('manifests')
      .values({
        repository_id: repositoryId,
        digest: m.digest,
        media_type: m.mediaType,
        artifact_type: m.artifactType ?? null,
        subject_digest: m.subjectDigest ?? null,
        annotations: m.annotations ? JSON.stringify(m.annotations) : null,
        size: m.content.length,
        content: m.content,
        created_at: Date.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(inserted.id);
    const refs = [
      ...m.blobs.map((digest) => ({ manifest_id: id, digest, kind: 'blob' as const })),
      ...m.manifests.map((digest) => ({ manifest_id: id, digest, kind: 'manifest' as const })),
    ];
    for (const part of chunks(refs)) {
      await this.db
        .insertInto('manifest_references')
        .values(part)
        .onConflict((oc) => oc.columns(['manifest_id', 'digest', 'kind']).doNothing())
        .execute();
    }
    return id;
  }

  async setTags(repositoryId: number, manifestId: number, tags: string[]): Promise<void> {
    const now = Date.now();
    for (const name of tags) {
      await this.db
        .insertInto('tags')
        .values({ repository_id: repositoryId, name, manifest_id: manifestId, updated_at: now })
        .onConflict((oc) =>
          oc.columns(['repository_id', 'name']).doUpdateSet({ manifest_id: manifestId, updated_at: now }),
        )
        .execute();
    }
  }

  async manifest(name: RepoName, ref: ManifestLookup): Promise<ManifestWithContent | undefined> {
    const row = await this.manifestQuery(name, ref).select('manifests.content').executeTakeFirst();
    return row ? { ...toRecord(row), content: Buffer.from(row.content) } : undefined;
  }

  async manifestInfo(name: RepoName, ref: ManifestLookup): Promise<ManifestRecord | undefined> {
    const row = await this.manifestQuery(name, ref).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  private manifestQuery(name: RepoName, ref: ManifestLookup) {
    return this.db
      .selectFrom('manifests')
      .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
      .select(MANIFEST_INFO)
      .where('repositories.name', '=', name)
      .where((eb) =>
        'tag' in ref
          ? eb(
              'manifests.id',
              '=',
              eb
                .selectFrom('tags')
                .select('tags.manifest_id')
                .whereRef('tags.repository_id', '=', 'manifests.repository_id')
                .where('tags.name', '=', ref.tag),
            )
          : eb('manifests.digest', '=', ref.digest),
      );
  }

  async deleteManifest(name: RepoName, digest: Digest): Promise<boolean> {
    const row = await this.manifestInfo(name, { digest });
    if (!row) return false;
    await this.db.deleteFrom('tags').where('manifest_id', '=', row.id).execute();
    await this.db.deleteFrom('manifest_references').where('manifest_id', '=', row.id).execute();
    await this.db.deleteFrom('manifests').where('id', '=', row.id).execute();
    return true;
  }

  async deleteTag(name: RepoName, tag: string): Promise<boolean> {
    const id = await this.repositoryId(name);
    if (id === undefined) return false;
    const result = await this.db
      .deleteFrom('tags')
      .where('repository_id', '=', id)
      .where('name', '=', tag)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listTags(repositoryId: number, page: Page): Promise<string[]> {
    let q = this.db
      .selectFrom('tags')
      .select('name')
      .where('repository_id', '=', repositoryId)
      .orderBy('name');
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name);
  }

  async listReferrers(name: RepoName, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    let q = this.db
      .selectFrom('manifests')
      .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
      .select(MANIFEST_INFO)
      .where('repositories.name', '=', name)
      .where('manifests.subject_digest', '=', subject)
      .orderBy('manifests.created_at')
      .orderBy('manifests.id');
    if (artifactType !== undefined) q = q.where('manifests.artifact_type', '=', artifactType);
    return (await q.execute()).map(toRecord);
  }

  async createUpload(id: string, repository: RepoName, now: number, owner?: string): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({ id, repository, created_at: now, updated_at: now, owner: owner ?? null })
      .execute();
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row
      ? {
          id: row.id,
          repository: row.repository as RepoName,
          createdAt: Number(row.created_at),
          updatedAt: Number(row.updated_at),
          ...(row.owner !== null ? { owner: row.owner } : {}),
        }
      : undefined;
  }

  async touchUpload(id: string, now: number): Promise<void> {
    await this.db.updateTable('uploads').set({ updated_at: now }).where('id', '=', id).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  async staleUploads(before: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select('id')
      .where('updated_at', '<', before)
      .orderBy('updated_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async linkedBlobSizes(repositoryId: number, digests: Digest[]): Promise<Map<Digest, number>> {
    const sizes = new Map<Digest, number>();
    for (const part of chunks([...new Set(digests)])) {
      let q = this.db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.digest', 'blobs.size'])
        .where('repository_blobs.repository_id', '=', repositoryId)
        .where('repository_blobs.digest', 'in', part)
        .where('blobs.gc_state', 'is', null);
      // Held until the manifest that needs these links commits: a concurrent unlink waits, then sees the tag.
      if (this.rowLocks) q = q.forShare();
      const rows = await q.execute();
      for (const r of rows) sizes.set(r.digest as Digest, Number(r.size));
    }
    return sizes;
  }

  async manifestSizes(repositoryId: number, digests: Digest[]): Promise<Map<Digest, number>> {
    const sizes = new Map<Digest, number>();
    for (const part of chunks([...new Set(digests)])) {
      let q = this.db
        .selectFrom('manifests')
        .select(['digest', 'size'])
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', part);
      if (this.rowLocks) q = q.forShare();
      const rows = await q.execute();
      for (const r of rows) sizes.set(r.digest as Digest, Number(r.size));
    }
    return sizes;
  }

  async taggedUserOf(
    repositoryId: number,
    digest: Digest,
    kind: 'blob' | 'manifest',
  ): Promise<TaggedUser | undefined> {
    // Every manifest reached from a tag, directly or through index children, with one tag it is reached from.
    // UNION (not UNION ALL) ends the walk: a (manifest, tag) pair is visited once.
    const row = await this.db
      .withRecursive('reached(manifest_id, tag)', (db) =>
        db
          .selectFrom('tags')
          .select(['tags.manifest_id', 'tags.name as tag'])
          .where('tags.repository_id', '=', repositoryId)
          .union((qb) =>
            qb
              .selectFrom('reached')
              .innerJoin('manifest_references as child_ref', (join) =>
                join
                  .onRef('child_ref.manifest_id', '=', 'reached.manifest_id')
                  .on('child_ref.kind', '=', 'manifest'),
              )
              .innerJoin('manifests as child', (join) =>
                join
                  .onRef('child.digest', '=', 'child_ref.digest')
                  .on('child.repository_id', '=', repositoryId),
              )
              .select(['child.id as manifest_id', 'reached.tag']),
          ),
      )
      .selectFrom('reached')
      .innerJoin('manifest_references', 'manifest_references.manifest_id', 'reached.manifest_id')
      .innerJoin('manifests', 'manifests.id', 'reached.manifest_id')
      .select(['manifests.digest', 'reached.tag'])
      .where('manifest_references.digest', '=', digest)
      .where('manifest_references.kind', '=', kind)
      .orderBy('reached.tag')
      .limit(1)
      .executeTakeFirst();
    return row ? { manifest: row.digest as Digest, tag: row.tag } : undefined;
  }

  recordEvents(events: NewEvent[]): Promise<void> {
    return insertEvents(this.db, events);
  }
}

export class KyselyMetadataStore extends KyselyQueries implements MetadataStore {
  readonly access: AccessStore;
  readonly events: EventStore;
  readonly retention: RetentionStore;
  readonly immutability: ImmutabilityStore;
  readonly gc: GcStore;
  readonly admission: AdmissionStore;
  readonly trust: TrustStore;
  readonly repositories: RepositoryStore;
  readonly webhooks: WebhookStore;
  readonly report: ReportStore;
  readonly leases: LeaseStore;

  constructor(
    private readonly kysely: Kysely<Database>,
    readonly dialect: Dialect,
    /** Why the store cannot take writes now (SQLite: its file was deleted); undefined when it can. */
    private readonly probe: () => Promise<string | undefined> = async () => undefined,
  ) {
    super(kysely, dialect === 'postgres');
    this.access = new KyselyAccessStore(kysely);
    this.events = new KyselyEventStore(kysely);
    this.retention = new KyselyRetentionStore(kysely);
    this.immutability = new KyselyImmutabilityStore(kysely);
    this.gc = new KyselyGcStore(kysely, dialect);
    this.admission = new KyselyAdmissionStore(kysely);
    this.trust = new KyselyTrustStore(kysely);
    this.repositories = new KyselyRepositoryStore(kysely, dialect === 'postgres');
    this.webhooks = new KyselyWebhookStore(kysely);
    this.report = new KyselyReportStore(kysely);
    this.leases = new KyselyLeaseStore(kysely);
  }

  async readiness(): Promise<string | undefined> {
    const reason = await this.probe();
    if (reason !== undefined) return reason;
    try {
      await sql`select 1`.execute(this.kysely);
      return undefined;
    } catch (error) {
      return `the metadata database does not answer: ${(error as Error).message}`;
    }
  }

  async initialized(): Promise<boolean> {
    const applied = await this.migrator().getMigrations();
    return applied.some((migration) => migration.executedAt !== undefined);
  }

  tx<T>(fn: (tx: MetadataQueries) => Promise<T>): Promise<T> {
    return this.kysely
      .transaction()
      .execute((trx) => fn(new KyselyQueries(trx, this.dialect === 'postgres')));
  }

  private migrator(): Migrator {
    return new Migrator({
      db: this.kysely,
      provider: migrations(this.dialect),
      migrationTableName: 'berth_migrations',
      migrationLockTableName: 'berth_migrations_lock',
    });
  }

  async migrate(): Promise<void> {
    const { error, results } = await this.migrator().migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      throw new Error(`metadata migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, {
        cause: error,
      });
    }
  }

  close(): Promise<void> {
    return this.kysely.destroy();
  }

  async storageByRepository(): Promise<Map<string, number>> {
    const blobs = await this.kysely
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .select((eb) => ['repositories.name as name', eb.fn.sum<number | string>('blobs.size').as('bytes')])
      .groupBy('repositories.name')
      .execute();
    const manifests = await this.kysely
      .selectFrom('manifests')
      .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
      .select((eb) => ['repositories.name as name', eb.fn.sum<number | string>('manifests.size').as('bytes')])
      .groupBy('repositories.name')
      .execute();
    const bytes = new Map<string, number>();
    for (const row of [...blobs, ...manifests]) {
      bytes.set(row.name, (bytes.get(row.name) ?? 0) + Number(row.bytes));
    }
    return bytes;
  }

  async linkedBlobDigests(page: Page): Promise<Digest[]> {
    let q = this.kysely.selectFrom('repository_blobs').select('digest').distinct().orderBy('digest');
    if (page.after !== undefined) q = q.where('digest', '>', page.after);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.digest as Digest);
  }

  async blobDependents(digest: Digest): Promise<BlobDependents[]> {
    const db = this.kysely;
    const byRepository = new Map<number, BlobDependents>();
    const entry = (repositoryId: number): BlobDependents => {
      let found = byRepository.get(repositoryId);
      if (!found) {
        found = { repository: '' as RepoName, linked: false, manifests: [], tags: [] };
        byRepository.set(repositoryId, found);
      }
      return found;
    };
    const links = await db
      .selectFrom('repository_blobs')
      .select('repository_id')
      .where('digest', '=', digest)
      .execute();
    for (const link of links) entry(Number(link.repository_id)).linked = true;
    // Manifests that list the blob, then the indexes (of the same repository) that list those, and so on.
    let frontier = await db
      .selectFrom('manifests')
      .innerJoin('manifest_references', 'manifest_references.manifest_id', 'manifests.id')
      .select(['manifests.id', 'manifests.repository_id', 'manifests.digest'])
      .where('manifest_references.digest', '=', digest)
      .where('manifest_references.kind', '=', 'blob')
      .execute();
    const seen = new Set<number>();
    while (frontier.length > 0) {
      const fresh = frontier.filter((m) => !seen.has(Number(m.id)));
      for (const m of fresh) {
        seen.add(Number(m.id));
        entry(Number(m.repository_id)).manifests.push(m.digest as Digest);
      }
      frontier = [];
      for (const part of chunks(fresh.map((m) => Number(m.id)))) {
        frontier.push(
          ...(await db
            .selectFrom('manifests as parent')
            .innerJoin('manifest_references', 'manifest_references.manifest_id', 'parent.id')
            .innerJoin('manifests as child', (join) =>
              join
                .onRef('child.digest', '=', 'manifest_references.digest')
                .onRef('child.repository_id', '=', 'parent.repository_id'),
            )
            .select(['parent.id', 'parent.repository_id', 'parent.digest'])
            .where('manifest_references.kind', '=', 'manifest')
            .where('child.id', 'in', part)
            .execute()),
        );
      }
    }
    for (const part of chunks([...seen])) {
      const tags = await db
        .selectFrom('tags')
        .select(['repository_id', 'name'])
        .where('manifest_id', 'in', part)
        .orderBy('name')
        .execute();
      for (const tag of tags) entry(Number(tag.repository_id)).tags.push(tag.name);
    }
    const ids = [...byRepository.keys()];
    for (const part of chunks(ids)) {
      const rows = await db
        .selectFrom('repositories')
        .select(['id', 'name'])
        .where('id', 'in', part)
        .execute();
      for (const row of rows) entry(Number(row.id)).repository = row.name as RepoName;
    }
    return [...byRepository.values()].sort((a, b) => a.repository.localeCompare(b.repository));
  }

  async repositoriesLinking(digest: Digest, limit: number): Promise<RepoName[]> {
    const rows = await this.kysely
      .selectFrom('repository_blobs')
      .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
      .select('repositories.name')
      .where('repository_blobs.digest', '=', digest)
      .orderBy('repositories.name')
      .limit(limit)
      .execute();
    return rows.map((row) => row.name as RepoName);
  }
}

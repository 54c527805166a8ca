import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Migrations live in code (not files on disk) so they ship inside the compiled package and run in order. */
export function migrations(dialect: Dialect): MigrationProvider {
  const id = dialect === 'sqlite' ? 'integer' : 'bigserial';
  const bytes = dialect === 'sqlite' ? 'blob' : 'bytea';
  // Listings must come out in byte order (the spec's "ASCIIbetical"); PostgreSQL's default collation is not.
  const name = sql.raw(dialect === 'sqlite' ? 'text' : 'text collate "C"');
  const all: Record<string, Migration> = {
    '0001_registry_core': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('repositories')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('name', name, (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('blobs')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('repository_blobs')
          .addColumn('repository_id', 'bigint', (c) =>
            c.notNull().references('repositories.id').onDelete('cascade'),
          )
          .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
          .execute();
        await db.schema
          .createIndex('repository_blobs_digest')
          .on('repository_blobs')
          .column('digest')
          .execute();
        await db.schema
          .createTable('manifests')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('repository_id', 'bigint', (c) =>
            c.notNull().references('repositories.id').onDelete('cascade'),
          )
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('subject_digest', 'text')
          .addColumn('annotations', 'text')
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('content', sql.raw(bytes), (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('manifests_repository_digest', ['repository_id', 'digest'])
          .execute();
        await db.schema
          .createIndex('manifests_subject')
          .on('manifests')
          .columns(['repository_id', 'subject_digest'])
          .execute();
        await db.schema.createIndex('manifests_digest').on('manifests').column('digest').execute();
        await db.schema
          .createTable('manifest_references')
          .addColumn('manifest_id', 'bigint', (c) =>
            c.notNull().references('manifests.id').onDelete('cascade'),
          )
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('manifest_references_pk', ['manifest_id', 'digest', 'kind'])
          .execute();
        await db.schema
          .createIndex('manifest_references_digest')
          .on('manifest_references')
          .column('digest')
          .execute();
        await db.schema
          .createTable('tags')
          .addColumn('repository_id', 'bigint', (c) =>
            c.notNull().references('repositories.id').onDelete('cascade'),
          )
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('manifest_id', 'bigint', (c) =>
            c.notNull().references('manifests.id').onDelete('cascade'),
          )
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
          .execute();
        await db.schema.createIndex('tags_manifest').on('tags').column('manifest_id').execute();
        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_access': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('users')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('robots')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('permissions', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('expires_at', 'bigint')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('projects')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('project_members')
          .addColumn('project', name, (c) => c.notNull().references('projects.name').onDelete('cascade'))
          .addColumn('subject_kind', 'text', (c) => c.notNull())
          .addColumn('subject', name, (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('project_members_pk', ['project', 'subject_kind', 'subject'])
          .execute();
        await db.schema
          .createTable('policy_roles')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('policies', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('role_bindings')
          .addColumn('role', name, (c) => c.notNull().references('policy_roles.name').onDelete('cascade'))
          .addColumn('subject_kind', 'text', (c) => c.notNull())
          .addColumn('subject', name, (c) => c.notNull())
          .addPrimaryKeyConstraint('role_bindings_pk', ['role', 'subject_kind', 'subject'])
          .execute();
        await db.schema
          .createTable('audit_log')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_kind', 'text', (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('repository', 'text')
          .addColumn('action', 'text')
          .addColumn('source', 'text')
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('private_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.alterTable('uploads').addColumn('owner', 'text').execute();
      },
    },
    // A counter per account, raised by every change of what it may do, so that tokens issued before retire.
    '0003_grants_version': {
      async up(db: Kysely<unknown>): Promise<void> {
        for (const table of ['users', 'robots']) {
          await db.schema
            .alterTable(table)
            .addColumn('grants_version', 'bigint', (c) => c.notNull().defaultTo(0))
            .execute();
        }
      },
    },
    // Tag immutability rules per project. Not tied to the projects table: a rule outlives its project's
    // deletion (repositories stay when a project goes), so the protection does too.
    '0004_immutability_quotas': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('immutability_rules')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('project', name, (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('immutability_rules_project')
          .on('immutability_rules')
          .column('project')
          .execute();
      },
    },
    // Online garbage collection: when a blob was last referenced (upload, mount, manifest PUT), whether a
    // collector marked it for deletion, and every run with its checkpoint and progress.
    '0006_gc': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .alterTable('blobs')
          .addColumn('referenced_at', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('blobs').addColumn('gc_state', 'text').execute();
        await sql`update blobs set referenced_at = created_at`.execute(db);
        await db.schema
          .createTable('gc_runs')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('dry_run', 'integer', (c) => c.notNull())
          .addColumn('untagged', 'integer', (c) => c.notNull())
          .addColumn('grace_ms', 'bigint', (c) => c.notNull())
          .addColumn('cutoff', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .addColumn('checkpoint', 'text')
          .addColumn('blobs_examined', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('bytes_examined', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('blobs_freed', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('bytes_freed', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('manifests_freed', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('uploads_purged', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('error', 'text')
          .execute();
        await db.schema.createIndex('gc_runs_status').on('gc_runs').column('status').execute();
      },
    },
    // Durable events (issue 13): the id only grows, so readers (berth events, webhooks) resume after one.
    '0007_events': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('events')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('repository', 'text')
          .addColumn('project', 'text')
          .addColumn('digest', 'text')
          .addColumn('tag', 'text')
          .addColumn('actor', 'text')
          .addColumn('payload', 'text')
          .execute();
        await db.schema.createIndex('events_at').on('events').column('at').execute();
      },
    },
    // Retention (issue 12): one policy per project, every run's result, and the last pull of each manifest
    // (written in batches by the pull log, so a pull costs no write of its own).
    '0005_retention': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('retention_policies')
          .addColumn('project', name, (c) => c.primaryKey().references('projects.name').onDelete('cascade'))
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('retention_runs')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('project', name, (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint', (c) => c.notNull())
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('dry_run', 'integer', (c) => c.notNull())
          .addColumn('forced', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('deleted_tags', 'integer', (c) => c.notNull())
          .addColumn('deleted_manifests', 'integer', (c) => c.notNull())
          .addColumn('bytes_freed', 'bigint', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('retention_runs_project')
          .on('retention_runs')
          .columns(['project', 'id'])
          .execute();
        await db.schema
          .createTable('manifest_pulls')
          .addColumn('manifest_id', 'bigint', (c) =>
            c.primaryKey().references('manifests.id').onDelete('cascade'),
          )
          .addColumn('pulled_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Trust and admission (issue 14): a project's admission policy (its YAML text, parsed again on load) and
    // its trust rules (repository glob -> a public key whose signature a pull requires).
    '0009_trust': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('admission_policies')
          .addColumn('project', 'text', (c) => c.primaryKey())
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('trust_policies')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('repository_glob', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('trust_policies_project')
          .on('trust_policies')
          .column('project')
          .execute();
      },
    },
    // Webhooks (issue 13): endpoints per project, a delivery queue fed from events by id, the feed's cursor.
    '0008_webhooks': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('webhooks')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('event_types', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhooks_project').on('webhooks').column('project').execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', sql.raw(id), (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('webhook_id', 'bigint', (c) => c.notNull())
          .addColumn('event_id', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('response_status', 'integer')
          .addColumn('response_ms', 'integer')
          .addColumn('error', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('webhook_deliveries_due')
          .on('webhook_deliveries')
          .columns(['state', 'next_at'])
          .execute();
        await db.schema
          .createIndex('webhook_deliveries_webhook')
          .on('webhook_deliveries')
          .columns(['webhook_id', 'id'])
          .execute();
        await db.schema
          .createTable('webhook_feed')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('last_event_id', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Leases (issue 15): a background job runs on the node that holds its row until expires_at (that node's
    // clock, in milliseconds); another node takes the row once the time ran out.
    '0011_leases': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('leases')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
  return { getMigrations: async () => all };
}

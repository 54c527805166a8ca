import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { TrustRuleRecord, TrustStore } from './trust-store.js';

export class KyselyTrustStore implements TrustStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listRules(project: string): Promise<TrustRuleRecord[]> {
    const rows = await this.db
      .selectFrom('trust_policies')
      .selectAll()
      .where('project', '=', project)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      project: row.project,
      repositoryGlob: row.repository_glob,
      publicKey: row.public_key,
      createdAt: Number(row.created_at),
    }));
  }

  async addRule(rule: Omit<TrustRuleRecord, 'id'>): Promise<TrustRuleRecord> {
    const row = await this.db
      .insertInto('trust_policies')
      .values({
        project: rule.project,
        repository_glob: rule.repositoryGlob,
        public_key: rule.publicKey,
        created_at: rule.createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), ...rule };
  }

  async removeRule(project: string, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('trust_policies')
      .where('project', '=', project)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

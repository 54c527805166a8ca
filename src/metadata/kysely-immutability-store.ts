import type { Kysely, Selectable } from 'kysely';
import type { ImmutabilityRuleRecord, ImmutabilityStore, NewImmutabilityRule } from './immutability-store.js';
import type { Database } from './schema.js';

function toRule(row: Selectable<Database['immutability_rules']>): ImmutabilityRuleRecord {
  return {
    id: Number(row.id),
    project: row.project,
    repository: row.repository,
    tag: row.tag,
    kind: row.kind === 'exclude' ? 'exclude' : 'include',
    createdAt: Number(row.created_at),
  };
}

/** The immutability rules, written once in Kysely for SQLite and PostgreSQL. */
export class KyselyImmutabilityStore implements ImmutabilityStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listRules(project: string): Promise<ImmutabilityRuleRecord[]> {
    const rows = await this.db
      .selectFrom('immutability_rules')
      .selectAll()
      .where('project', '=', project)
      .orderBy('id')
      .execute();
    return rows.map(toRule);
  }

  async addRule(rule: NewImmutabilityRule): Promise<ImmutabilityRuleRecord> {
    const row = await this.db
      .insertInto('immutability_rules')
      .values({
        project: rule.project,
        repository: rule.repository,
        tag: rule.tag,
        kind: rule.kind,
        created_at: rule.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRule(row);
  }

  async removeRule(project: string, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('immutability_rules')
      .where('project', '=', project)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async countRules(project: string): Promise<number> {
    const row = await this.db
      .selectFrom('immutability_rules')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project', '=', project)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

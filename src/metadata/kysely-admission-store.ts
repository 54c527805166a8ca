import type { Kysely } from 'kysely';
import type { AdmissionPolicyRecord, AdmissionStore } from './admission-store.js';
import type { Database } from './schema.js';

export class KyselyAdmissionStore implements AdmissionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getPolicy(project: string): Promise<AdmissionPolicyRecord | undefined> {
    const row = await this.db
      .selectFrom('admission_policies')
      .selectAll()
      .where('project', '=', project)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      project: row.project,
      policy: row.policy,
      updatedAt: Number(row.updated_at),
      updatedBy: row.updated_by,
    };
  }

  async setPolicy(record: AdmissionPolicyRecord): Promise<void> {
    const values = {
      project: record.project,
      policy: record.policy,
      updated_at: record.updatedAt,
      updated_by: record.updatedBy,
    };
    await this.db
      .insertInto('admission_policies')
      .values(values)
      .onConflict((oc) =>
        oc.column('project').doUpdateSet({
          policy: values.policy,
          updated_at: values.updated_at,
          updated_by: values.updated_by,
        }),
      )
      .execute();
  }

  async removePolicy(project: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('admission_policies')
      .where('project', '=', project)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

import type { Kysely } from 'kysely';
import type { LeaseRecord, LeaseStore } from './lease-store.js';
import type { Database } from './schema.js';

/** The job leases, written once in Kysely for SQLite and PostgreSQL (both take INSERT ... ON CONFLICT ... WHERE). */
export class KyselyLeaseStore implements LeaseStore {
  constructor(private readonly db: Kysely<Database>) {}

  async acquireLease(name: string, holder: string, now: number, expiresAt: number): Promise<boolean> {
    // One statement: the conflict branch updates only a row this holder holds or one whose time ran out, so
    // of two nodes racing for an expired lease exactly one gets a row back.
    const row = await this.db
      .insertInto('leases')
      .values({ name, holder, expires_at: expiresAt })
      .onConflict((conflict) =>
        conflict
          .column('name')
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<=', now)])),
      )
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async lease(name: string): Promise<LeaseRecord | undefined> {
    const row = await this.db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? { name: row.name, holder: row.holder, expiresAt: Number(row.expires_at) } : undefined;
  }
}

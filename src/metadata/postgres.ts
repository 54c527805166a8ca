import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyMetadataStore } from './kysely-store.js';
import type { Database } from './schema.js';

const INT8_OID = 20;

/** PostgreSQL for metadata shared by several nodes. */
export function openPostgresMetadata(url: string, poolSize = 10): KyselyMetadataStore {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Sizes and times are bigint columns; they fit a JavaScript number, so read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID
          ? Number
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection ended by the server (a restart, a failover, an administrator) is dropped from the pool
  // by pg and the next query opens a new one; without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  // The same for a connection's later errors (the reset after the server's goodbye): queries on it still fail.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new KyselyMetadataStore(
    new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    'postgres',
  );
}

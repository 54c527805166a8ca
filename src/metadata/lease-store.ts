/** Who holds a named lease, and until when (milliseconds since the epoch, from the holder's clock). */
export interface LeaseRecord {
  name: string;
  holder: string;
  expiresAt: number;
}

/**
 * Leases that let one node at a time run a background job. Each operation is one conditional statement, so
 * two nodes racing for the same lease cannot both win, on PostgreSQL as on SQLite.
 */
export interface LeaseStore {
  /**
   * Takes the lease until `expiresAt` when nobody holds it, when its holder's time ran out (`expires_at <=
   * now`), or when `holder` already holds it (then this renews it). True when `holder` holds it afterwards.
   */
  acquireLease(name: string, holder: string, now: number, expiresAt: number): Promise<boolean>;
  /** Gives the lease up; false when `holder` did not hold it. */
  releaseLease(name: string, holder: string): Promise<boolean>;
  /** The lease's row, held or expired; undefined when nobody ever took it or it was released. */
  lease(name: string): Promise<LeaseRecord | undefined>;
}

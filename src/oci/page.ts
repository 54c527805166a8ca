/**
 * One page of a listing (`n` and `last` of the Distribution API's tag and catalog lists): the HTTP layer
 * parses it, the registry passes it on, the metadata store runs it. It lives here, in the shared
 * vocabulary, so that none of them imports another for it.
 */
export interface Page {
  /** At most this many items; undefined for all. */
  limit?: number | undefined;
  /** Start after this value (exclusive). */
  after?: string | undefined;
}

/**
 * What the blob store reports, in its own words: storage knows bytes, uploads and disks, not HTTP or OCI
 * codes. `registry/` maps each reason to the OCI error a client sees. Callers outside storage import the type
 * only and test `name` and `reason` (as Node's errors are tested by `code`), so they depend on no storage code.
 */
export type StorageErrorReason =
  /** No stored bytes for the digest. */
  | 'blob-unknown'
  /** No upload with this id (never made, finished, cancelled or purged). */
  | 'upload-unknown'
  /** A chunk does not start where the upload stands (`detail.size`). */
  | 'offset-mismatch'
  /** Another request is still writing to the upload. */
  | 'upload-busy'
  /** A body shorter or longer than its announced length; its bytes were taken back. */
  | 'length-mismatch'
  /** The stored bytes do not hash to the digest given at commit; the upload is gone. */
  | 'digest-mismatch'
  /** The disk has no room; new content is refused until space is freed. */
  | 'full';

export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly reason: StorageErrorReason,
    /** Facts for the caller's answer: digest, upload id, expected and actual sizes. */
    readonly detail: Record<string, unknown> = {},
    /** The upload's stored size, for the reasons where the client must learn where to resume. */
    readonly uploadSize?: number,
  ) {
    super(`storage: ${reason}`);
  }
}

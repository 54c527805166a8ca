import { RegistryError } from '../oci/errors.js';
import { rangeHeader } from '../oci/upload-range.js';
import type { StorageError } from '../storage/storage-error.js';

// What the metadata store's databases report when the disk under them is full: SQLite, and PostgreSQL's
// SQLSTATE 53100 (disk_full). The blob store reports its own full disk as a StorageError.
const DATABASE_FULL = new Set(['SQLITE_FULL', '53100']);

/** A StorageError, recognised by name: registry/ sees storage through its types only. */
function asStorageError(error: unknown): StorageError | undefined {
  return error instanceof Error && error.name === 'StorageError' ? (error as StorageError) : undefined;
}

/**
 * The registry error for a failure of storage or of the metadata store's disk, or undefined for any other
 * error. Storage speaks of bytes and uploads; this is where its reasons become the OCI codes clients see.
 */
export function storageFailure(error: unknown): RegistryError | undefined {
  const failure = asStorageError(error);
  if (!failure) {
    const code = (error as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && DATABASE_FULL.has(code)
      ? new RegistryError('STORAGE_FULL')
      : undefined;
  }
  switch (failure.reason) {
    case 'blob-unknown':
      return new RegistryError('BLOB_UNKNOWN', failure.detail);
    case 'upload-unknown':
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', failure.detail);
    case 'offset-mismatch':
    case 'upload-busy':
      // The client learns where the upload stands, so it can resume from there.
      return new RegistryError('RANGE_INVALID', failure.detail, {
        Range: rangeHeader(failure.uploadSize ?? 0),
      });
    case 'length-mismatch':
      return new RegistryError('SIZE_INVALID', failure.detail);
    case 'digest-mismatch':
      return new RegistryError('DIGEST_INVALID', failure.detail);
    case 'full':
      return new RegistryError('STORAGE_FULL');
  }
}

/** For `.catch()` on a storage call: rethrows what storage reported as the registry error it means. */
export function rethrowStorageFailure(error: unknown): never {
  throw storageFailure(error) ?? error;
}

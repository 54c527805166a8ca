import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistryError } from '../oci/errors.js';
import { StorageError } from '../storage/storage-error.js';
import { rethrowStorageFailure, storageFailure } from './storage-failure.js';

test('each storage reason becomes the OCI error clients expect, with its detail', () => {
  const cases = [
    [new StorageError('blob-unknown', { digest: 'sha256:x' }), 'BLOB_UNKNOWN'],
    [new StorageError('upload-unknown', { upload: 'u' }), 'BLOB_UPLOAD_UNKNOWN'],
    [new StorageError('offset-mismatch', { offset: 4000 }, 4000), 'RANGE_INVALID'],
    [new StorageError('upload-busy', { upload: 'u' }, 0), 'RANGE_INVALID'],
    [new StorageError('length-mismatch', { expected: 3 }), 'SIZE_INVALID'],
    [new StorageError('digest-mismatch', { expected: 'a', actual: 'b' }), 'DIGEST_INVALID'],
    [new StorageError('full'), 'STORAGE_FULL'],
  ] as const;
  for (const [failure, kind] of cases) {
    const error = storageFailure(failure);
    assert.ok(error instanceof RegistryError, failure.reason);
    assert.equal(error.kind, kind, failure.reason);
    if (kind !== 'STORAGE_FULL') assert.deepEqual(error.detail, failure.detail, failure.reason);
  }
  // A range error tells the client where the upload stands.
  assert.equal(storageFailure(cases[2][0])?.headers.Range, '0-3999');
  assert.equal(storageFailure(cases[3][0])?.headers.Range, '0-0');
});

test('a full database disk is STORAGE_FULL; any other error is not the registry table`s', () => {
  for (const code of ['SQLITE_FULL', '53100']) {
    assert.equal(storageFailure(Object.assign(new Error('full'), { code }))?.kind, 'STORAGE_FULL', code);
  }
  assert.equal(storageFailure(Object.assign(new Error('gone'), { code: 'ECONNRESET' })), undefined);
  assert.equal(storageFailure(new RegistryError('DENIED')), undefined);
  assert.equal(storageFailure(undefined), undefined);
  const other = new Error('other');
  assert.throws(
    () => rethrowStorageFailure(other),
    (error) => error === other,
  );
});

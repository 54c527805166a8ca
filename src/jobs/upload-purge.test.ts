import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { tempDir } from '../../test/support/temp.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import type { RepoName } from '../oci/names.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { purgeStaleUploads } from './upload-purge.js';

const HOUR = 3_600_000;

test('stale upload sessions go, live ones stay, whatever part of them a crash left', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'storage');
  const blobs = new DriverBlobStore(new FsDriver(root));
  const meta = openSqliteMetadata(join(dir, 'meta.sqlite'));
  t.after(() => meta.close());
  await meta.migrate();
  const now = Date.now();
  const repo = 'purge/app' as RepoName;
  const age = async (id: string, ms: number): Promise<void> => {
    const when = new Date(now - ms);
    await utimes(join(root, 'uploads', id, 'data'), when, when);
  };
  const session = async (rowAge: number | undefined, bytesAge: number | undefined): Promise<string> => {
    const upload = await blobs.createUpload();
    await upload.append(Readable.from([Buffer.from('some bytes')]));
    if (rowAge !== undefined) await meta.createUpload(upload.id, repo, now - rowAge);
    if (bytesAge === undefined) await upload.cancel();
    else await age(upload.id, bytesAge);
    return upload.id;
  };
  const abandoned = await session(2 * HOUR, 2 * HOUR);
  const fresh = await session(0, 0);
  const orphanBytes = await session(undefined, 2 * HOUR);
  const orphanRow = await session(2 * HOUR, undefined);
  const longPatch = await session(2 * HOUR, 0);

  const result = await purgeStaleUploads(blobs, meta, HOUR, now, pino({ level: 'silent' }));
  assert.equal(result.removed, 3);
  for (const id of [abandoned, orphanBytes, orphanRow]) {
    assert.equal(await blobs.statUpload(id), undefined, id);
    assert.equal(await meta.getUpload(id), undefined, id);
  }
  for (const id of [fresh, longPatch]) {
    assert.ok(await blobs.statUpload(id), id);
    assert.ok(await meta.getUpload(id), id);
  }
  assert.ok(
    ((await meta.getUpload(longPatch))?.updatedAt ?? 0) > now - HOUR,
    'a session still being written is touched',
  );
  assert.equal((await purgeStaleUploads(blobs, meta, HOUR, now, pino({ level: 'silent' }))).removed, 0);
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { bigLayout, MiB } from '../../test/importer/importer-fixtures.js';
import { tempDir } from '../../test/support/temp.js';
import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { BlobInfoCache } from './blob-info-cache.js';
import { prepareLayer } from './prepared-blob.js';
import { openOciLayout } from './sources/oci-layout-source.js';

/** An OCI layout with one uncompressed layer of `size` bytes, opened as a source, and that layer. */
async function layoutWithLayer(dir: string, size: number) {
  const layout = await bigLayout(join(dir, 'layout'), size);
  const source = await openOciLayout(join(dir, 'layout'), 'v1');
  const manifest = JSON.parse((await source.topManifest()).bytes.toString()) as { layers: Descriptor[] };
  const layer = manifest.layers[0] as Descriptor;
  const path = join(dir, 'layout', 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
  return { layout, source, layer, path };
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('a layer of several blocks is gzipped in parallel into the spool, and the spool serves a second run', async (t) => {
  const dir = await tempDir(t);
  const { source, layer, path } = await layoutWithLayer(dir, 5 * MiB + 100);
  t.after(() => source.close());
  const cacheDir = join(dir, 'cache');
  const cache = await BlobInfoCache.open(cacheDir);
  const compressing: number[] = [];
  const options = {
    choice: 'gzip' as const,
    level: 1,
    cacheDir,
    cache,
    onCompress: (n: number) => compressing.push(n),
  };

  const prepared = await prepareLayer(source, layer, options);
  const gz = await readAll(await prepared.open(0));
  assert.deepEqual(gunzipSync(gz), await readFile(path));
  assert.equal(prepared.digest, `sha256:${createHash('sha256').update(gz).digest('hex')}`);
  assert.equal(prepared.size, gz.length);
  assert.equal(prepared.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.deepEqual(
    await readAll(await prepared.open(1000)),
    gz.subarray(1000),
    'read from an offset (resume)',
  );
  assert.equal(compressing[0], 0);
  assert.equal(compressing.at(-1), layer.size, 'progress reaches the whole layer');
  assert.deepEqual(cache.compressedOf(layer.digest, 'gzip'), {
    digest: prepared.digest,
    size: prepared.size,
  });

  compressing.length = 0;
  const again = await prepareLayer(source, layer, options);
  assert.equal(again.digest, prepared.digest);
  assert.deepEqual(compressing, [], 'the spool is used as it is');
});

test('a layer whose bytes are not its diff_id fails with BLOB_CORRUPT and leaves no spool', async (t) => {
  const dir = await tempDir(t);
  const { source, layer, path } = await layoutWithLayer(dir, 3 * MiB);
  t.after(() => source.close());
  // Same size, one byte changed in the middle: only the digest can tell.
  const file = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await file.read(byte, 0, 1, 2 * MiB);
  byte[0] = (byte[0] as number) ^ 0xff;
  await file.write(byte, 0, 1, 2 * MiB);
  await file.close();
  const cacheDir = join(dir, 'cache');
  const cache = await BlobInfoCache.open(cacheDir);

  await assert.rejects(
    prepareLayer(source, layer, { choice: 'gzip', level: 1, cacheDir, cache }),
    (error: unknown) => error instanceof BerthError && error.code === 'BLOB_CORRUPT',
  );
  assert.deepEqual(await readdir(join(cacheDir, 'spool')), []);
  assert.equal(cache.compressedOf(layer.digest, 'gzip'), undefined);
});

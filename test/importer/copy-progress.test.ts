// The progress of a copy as events and rows (issue 17): a layer compressed on the way was shown as two rows
// (its uncompressed digest stuck at `checking 0 B`, then the compressed one), and as `compressing 0 B/300 MiB`
// the whole time it was compressed. A real copy of an OCI layout with an uncompressed layer into another OCI
// layout, `compression: gzip`, its events folded by the model the terminal view draws.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CopyProgressModel, type RowState } from '../../src/cli/output/copy-progress.js';
import { BlobInfoCache } from '../../src/client/blob-info-cache.js';
import { type BlobEvent, copyImage } from '../../src/client/copy-image.js';
import { OciLayoutDestination } from '../../src/client/destinations/oci-layout-destination.js';
import { openImageSource } from '../../src/client/sources/open-image-source.js';
import { tempDir } from '../support/temp.js';
import { bigLayout, MiB } from './importer-fixtures.js';

test('a layer compressed on the way is one row: checking → compressing (bytes read) → uploading → done', async (t) => {
  const work = await tempDir(t, 'berth-progress-');
  const image = await bigLayout(join(work, 'source'), 4 * MiB);
  const source = await openImageSource({ transport: 'oci', path: join(work, 'source'), tag: 'v1' });
  const destination = await OciLayoutDestination.open(join(work, 'copy'));
  const events: BlobEvent[] = [];
  const model = new CopyProgressModel();
  const labels = new Map<string, RowState[]>();
  const readWhileCompressing: number[] = [];
  try {
    await copyImage(source, destination, ['v1'], {
      all: false,
      compression: 'gzip',
      compressionLevel: 1,
      maxConcurrent: 2,
      cacheDir: join(work, 'cache'),
      cache: await BlobInfoCache.open(join(work, 'cache')),
      onEvent: (event) => {
        if (event.type !== 'blob') return;
        events.push(event);
        const { row, changed } = model.apply(event);
        if (changed) labels.set(row.id, [...(labels.get(row.id) ?? []), row.state]);
        if (row.state === 'compressing') readWhileCompressing.push(row.done);
      },
    });
  } finally {
    await source.close();
    await destination.close();
  }
  const layerDigest = image.expected.diffIds[0] as string;
  const rows = model.rows;
  assert.equal(rows.length, 2, `one row per blob: ${JSON.stringify(rows)}`);
  const layer = rows.find((r) => r.id === layerDigest);
  assert.ok(layer, `the layer's row is keyed by the digest the source holds: ${JSON.stringify(rows)}`);
  assert.deepEqual(labels.get(layerDigest), ['checking', 'compressing', 'uploading', 'done']);
  assert.deepEqual(labels.get(image.expected.configDigest), ['checking', 'uploading', 'done']);
  // Compression shows the source bytes read as they go, up to the whole layer.
  assert.ok(readWhileCompressing.length > 2, `progress while compressing: ${readWhileCompressing}`);
  assert.ok(readWhileCompressing.some((n) => n > 0 && n < image.layerSize));
  assert.equal(Math.max(...readWhileCompressing), image.layerSize);
  for (let i = 1; i < readWhileCompressing.length; i++)
    assert.ok((readWhileCompressing[i] as number) >= (readWhileCompressing[i - 1] as number));
  // Uploading and done are of the compressed blob: another digest, the same row.
  const uploaded = events.find((e) => e.source === layerDigest && e.state === 'uploaded');
  assert.ok(uploaded && uploaded.digest !== layerDigest, 'the layer went up under its compressed digest');
  assert.equal(layer.state, 'done');
  assert.equal(layer.total, uploaded.size);
  assert.equal(layer.done, uploaded.size);
});

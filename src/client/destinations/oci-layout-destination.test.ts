import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tempDir } from '../../../test/support/temp.js';
import type { Digest } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import type { PreparedBlob } from '../prepared-blob.js';
import { OciLayoutDestination } from './oci-layout-destination.js';

function digestOf(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

/** A blob that arrives in many small pieces, yielding between them so concurrent writers interleave. */
function piecewiseBlob(bytes: Buffer): PreparedBlob {
  return {
    digest: digestOf(bytes),
    size: bytes.length,
    mediaType: MediaType.ociLayerGzip,
    rewritten: false,
    async open() {
      return Readable.from(
        (async function* () {
          for (let at = 0; at < bytes.length; at += 4096) {
            await nextTurn();
            yield bytes.subarray(at, at + 4096);
          }
        })(),
      );
    },
    async release() {},
  };
}

/** Files other than the layout's own: temporary files left behind. */
async function strayFiles(dir: string): Promise<string[]> {
  const blobs = await readdir(join(dir, 'blobs', 'sha256'));
  const top = await readdir(dir);
  return [...top.filter((name) => !['blobs', 'oci-layout', 'index.json'].includes(name)), ...blobs].filter(
    (name) => !/^[0-9a-f]{64}$/.test(name),
  );
}

test('writers copying into one OCI layout at once each publish whole files and keep every tag', async (t) => {
  const dir = join(await tempDir(t, 'berth-layout-'), 'layout');
  const writers = await Promise.all([1, 2, 3, 4].map(() => OciLayoutDestination.open(dir)));
  const layer = Buffer.alloc(256 * 1024);
  for (let i = 0; i < layer.length; i++) layer[i] = (i * 31) % 251;
  const blob = piecewiseBlob(layer);

  // The same blob from every writer at once: each must succeed and the file must hold exactly its bytes.
  const sent = await Promise.all(writers.map((w) => w.putBlob(blob, () => {})));
  assert.deepEqual(sent, [layer.length, layer.length, layer.length, layer.length]);
  assert.equal(digestOf(await readFile(join(dir, 'blobs', 'sha256', blob.digest.slice(7)))), blob.digest);

  // One manifest under a different tag from each writer, at once: index.json names all four tags.
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }),
  );
  const digest = digestOf(manifest);
  await Promise.all(
    writers.map((w, i) =>
      w.putManifest(`v${i + 1}`, { bytes: manifest, mediaType: MediaType.ociManifest, digest }),
    ),
  );
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations: Record<string, string> }[];
  };
  assert.deepEqual(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort(), [
    'v1',
    'v2',
    'v3',
    'v4',
  ]);
  assert.ok(index.manifests.every((m) => m.digest === digest));
  assert.deepEqual(await readFile(join(dir, 'blobs', 'sha256', digest.slice(7))), manifest);
  assert.deepEqual(await strayFiles(dir), []);
});

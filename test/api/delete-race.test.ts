import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { systemClock } from '../../src/clock/clock.js';
import { createLogger } from '../../src/main/logger.js';
import type { KyselyMetadataStore } from '../../src/metadata/kysely-store.js';
import { openPostgresMetadata } from '../../src/metadata/postgres.js';
import type { Digest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { parseTag, type RepoName } from '../../src/oci/names.js';
import { Registry } from '../../src/registry/registry.js';
import { DriverBlobStore } from '../../src/storage/blob-store.js';
import { FsDriver } from '../../src/storage/fs-driver.js';
import { makeImage, type TestImage } from '../support/images.js';
import { tempDir } from '../support/temp.js';

// Issue 9, finding 7 under concurrency: on PostgreSQL (read committed) a blob delete that checked "no tag
// needs it" before a concurrent manifest PUT committed could still unlink the blob the new tag needs.
// SQLite runs one write transaction at a time; PostgreSQL needs row locks, so this runs there only.
const url = process.env.BERTH_TEST_POSTGRES_URL;

const errorKind = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
    return 'ok';
  } catch (error) {
    if (error instanceof RegistryError) return error.kind;
    throw error;
  }
};

if (!url) {
  describe('deletes racing pushes on PostgreSQL', () => {
    test('needs BERTH_TEST_POSTGRES_URL', { skip: 'BERTH_TEST_POSTGRES_URL is not set' }, () => {});
  });
} else {
  describe('deletes racing pushes on PostgreSQL', () => {
    const name = `berth_race_${randomBytes(6).toString('hex')}`;
    const watcher = new pg.Client({ connectionString: url });
    let store: KyselyMetadataStore;
    let registry: Registry;
    const repo = 'race/app' as RepoName;

    before(async () => {
      await watcher.connect();
      await watcher.query(`CREATE DATABASE ${name}`);
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${name}`;
      store = openPostgresMetadata(dbUrl.toString(), 5);
      await store.migrate();
      const blobs = new DriverBlobStore(new FsDriver(await tempDir({ after })));
      registry = new Registry(
        blobs,
        store,
        { deletes: true, maxManifestSize: 4 << 20 },
        createLogger('silent'),
        systemClock,
      );
    });
    after(async () => {
      await store.close();
      // pg's pool.end() resolves before the server has seen every connection go; dropping then would kill them.
      // A failed test can leave a transaction open: after many polls, drop by force.
      let open = 1;
      for (let poll = 0; poll < 1000 && open > 0; poll++) {
        const { rows } = await watcher.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
          [name],
        );
        open = (rows[0] as { n: number }).n;
      }
      await watcher.query(`DROP DATABASE IF EXISTS ${name}${open > 0 ? ' WITH (FORCE)' : ''}`);
      await watcher.end();
    });

    /** The sign that the other transaction got as far as the row lock: a backend of our database waits on it. */
    const someoneWaitsOnALock = async (settled: () => boolean): Promise<boolean> => {
      for (;;) {
        const { rows } = await watcher.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
          [name],
        );
        if ((rows[0] as { n: number }).n > 0) return true;
        if (settled()) return false;
      }
    };

    const linkBlobs = async (image: TestImage): Promise<number> =>
      store.tx(async (tx) => {
        const id = await tx.ensureRepository(repo);
        for (const blob of [image.config, ...image.layers])
          await tx.linkBlob(id, blob.digest as Digest, blob.bytes.length);
        return id;
      });

    test('a PUT that read its blobs first wins: the delete waits, then sees the tag and is DENIED', async () => {
      const image = makeImage();
      const id = await linkBlobs(image);
      const layer = image.layers[0]?.digest as Digest;
      let release = (): void => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let readDone = (): void => {};
      const read = new Promise<void>((resolve) => {
        readDone = resolve;
      });
      // The steps of a manifest PUT, held open between reading the blob sizes and writing manifest and tag.
      const push = store.tx(async (tx) => {
        await tx.linkedBlobSizes(id, [image.config.digest as Digest, layer]);
        readDone();
        await held;
        const manifestId = await tx.putManifest(id, {
          digest: image.manifest.digest as Digest,
          mediaType: image.mediaType,
          content: image.manifest.bytes,
          blobs: [image.config.digest as Digest, layer],
          manifests: [],
        });
        await tx.setTags(id, manifestId, ['v1']);
      });
      await read;
      let settled = false;
      const deletion = errorKind(registry.deleteBlob(repo, layer)).finally(() => {
        settled = true;
      });
      assert.equal(await someoneWaitsOnALock(() => settled), true, 'the delete waited for the push');
      release();
      await push;
      assert.equal(await deletion, 'DENIED');
      assert.equal(await store.linkedBlobSize(repo, layer), image.layers[0]?.bytes.length);
    });

    test('a delete that unlinked first wins: the PUT waits, then finds the blob gone', async () => {
      const image = makeImage();
      await linkBlobs(image);
      const layer = image.layers[0]?.digest as Digest;
      let release = (): void => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let unlinked = (): void => {};
      const gone = new Promise<void>((resolve) => {
        unlinked = resolve;
      });
      const deletion = store.tx(async (tx) => {
        assert.equal(await tx.unlinkBlob(repo, layer), true);
        unlinked();
        await held;
      });
      await gone;
      let settled = false;
      const push = errorKind(
        registry.putManifest(repo, { tag: parseTag('v2') }, image.manifest.bytes, image.mediaType),
      ).finally(() => {
        settled = true;
      });
      assert.equal(await someoneWaitsOnALock(() => settled), true, 'the push waited for the delete');
      release();
      await deletion;
      assert.equal(await push, 'MANIFEST_BLOB_UNKNOWN');
      assert.equal(await store.manifestInfo(repo, { tag: 'v2' }), undefined);
    });
  });
}

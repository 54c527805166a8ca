import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { type Blob, makeImage, randomBlob } from '../../test/support/images.js';
import { tempDir } from '../../test/support/temp.js';
import { ManualClock } from '../clock/clock.js';
import type { KyselyMetadataStore } from '../metadata/kysely-store.js';
import { openPostgresMetadata } from '../metadata/postgres.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { RepoName, Tag } from '../oci/names.js';
import { Registry } from '../registry/registry.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { type GcDeps, GcService, runGc } from './gc.js';

const silent = pino({ level: 'silent' });
const HOUR = 3_600_000;

interface World {
  dir: string;
  clock: ManualClock;
  meta: KyselyMetadataStore;
  blobs: DriverBlobStore;
  registry: Registry;
  deps: GcDeps;
}

type OpenStore = () => Promise<KyselyMetadataStore>;

async function world(
  t: { after(fn: () => unknown): void },
  open: OpenStore,
  batchSize = 500,
): Promise<World> {
  const dir = await tempDir(t);
  // Manifest rows are dated by the database's writer (wall time): start the clock there.
  const clock = new ManualClock(Date.now());
  const meta = await open();
  t.after(() => meta.close());
  const blobs = new DriverBlobStore(new FsDriver(join(dir, 'storage')));
  const registry = new Registry(blobs, meta, { deletes: true, maxManifestSize: 4 << 20 }, silent, clock);
  return {
    dir,
    clock,
    meta,
    blobs,
    registry,
    deps: {
      meta,
      blobs,
      clock,
      log: silent, // Far beyond the hours these tests move the clock: upload files carry wall-clock times.
      uploadMaxAgeMs: 365 * 24 * HOUR,
      batchSize,
    },
  };
}

const upload = (w: World, repo: string, blob: Blob) =>
  w.registry.uploadMonolithic(repo as RepoName, blob.digest as Digest, {
    body: Readable.from([blob.bytes]),
    length: blob.bytes.length,
  });

async function push(w: World, repo: string, tag: string, image = makeImage()) {
  for (const blob of [image.config, ...image.layers]) await upload(w, repo, blob);
  await w.registry.putManifest(repo as RepoName, { tag: tag as Tag }, image.manifest.bytes, image.mediaType);
  return image;
}

const onDisk = async (w: World, digest: string): Promise<boolean> =>
  (await w.blobs.stat(digest as Digest)) !== undefined;

async function gcOnce(w: World, options: { graceMs?: number; dryRun?: boolean; untagged?: boolean } = {}) {
  const now = w.clock.now();
  const run = await w.meta.gc.createRun({
    trigger: 'manual',
    dryRun: options.dryRun ?? false,
    untagged: options.untagged ?? false,
    graceMs: options.graceMs ?? HOUR,
    cutoff: now - (options.graceMs ?? HOUR),
    startedAt: now,
  });
  return runGc(w.deps, run, new AbortController().signal);
}

/** Rule 4 over the whole store: every live blob row a repository links has its bytes. */
async function assertNoRowWithoutBytes(w: World): Promise<void> {
  for (let after: Digest | undefined, page: Digest[]; ; ) {
    page = await w.meta.linkedBlobDigests({ after, limit: 500 });
    if (page.length === 0) break;
    for (const digest of page) {
      const repos = await w.meta.repositoriesLinking(digest, 1);
      const readable = repos[0] ? await w.meta.linkedBlobSize(repos[0], digest) : undefined;
      if (readable !== undefined) assert.ok(await onDisk(w, digest), `${digest} has a row but no bytes`);
    }
    after = page[page.length - 1];
  }
}

function suite(name: string, open: OpenStore): void {
  describe(`garbage collection on ${name}`, () => {
    test('frees blobs no manifest references once past the grace period, and keeps the rest', async (t) => {
      const w = await world(t, open);
      const kept = await push(w, 'team/app', 'v1');
      const gone = await push(w, 'team/app', 'v2');
      const orphan = randomBlob(300);
      await upload(w, 'team/other', orphan);
      // Within the grace period nothing goes.
      let result = await gcOnce(w);
      assert.equal(result.blobsFreed, 0);
      assert.ok(result.blobsExamined >= 7);
      await w.registry.deleteManifest('team/app' as RepoName, { digest: gone.manifest.digest as Digest });
      w.clock.advance(2 * HOUR);
      const dry = await gcOnce(w, { dryRun: true });
      assert.equal(dry.blobsFreed, 1 + 1 + gone.layers.length);
      assert.ok(await onDisk(w, orphan.digest), 'a dry run deletes nothing');
      result = await gcOnce(w);
      assert.equal(result.blobsFreed, 1 + 1 + gone.layers.length);
      assert.equal(result.bytesFreed, dry.bytesFreed);
      for (const blob of [orphan, gone.config, ...gone.layers]) {
        assert.equal(await onDisk(w, blob.digest), false);
        await assert.rejects(w.registry.statBlob('team/app' as RepoName, blob.digest as Digest), {
          kind: 'BLOB_UNKNOWN',
        });
      }
      for (const blob of [kept.config, ...kept.layers]) assert.ok(await onDisk(w, blob.digest));
      const pulled = await w.registry.getManifest(
        'team/app' as RepoName,
        { tag: 'v1' as Tag },
        ['*/*'],
        true,
      );
      assert.equal(pulled.digest, kept.manifest.digest);
      // A pushed-again blob comes back as new.
      await upload(w, 'team/other', orphan);
      assert.ok(await onDisk(w, orphan.digest));
      await assertNoRowWithoutBytes(w);
    });

    test('untagged manifests stay unless asked, and --untagged frees them and then their blobs', async (t) => {
      const w = await world(t, open);
      const first = await push(w, 'team/app', 'v1');
      await push(w, 'team/app', 'v1'); // moves the tag: the first manifest is untagged now
      w.clock.advance(2 * HOUR);
      assert.equal((await gcOnce(w)).blobsFreed, 0);
      assert.ok(
        await w.meta.manifestInfo('team/app' as RepoName, { digest: first.manifest.digest as Digest }),
      );
      const result = await gcOnce(w, { untagged: true });
      assert.equal(result.manifestsFreed, 1);
      assert.equal(result.blobsFreed, 1 + first.layers.length);
      assert.equal(await onDisk(w, first.config.digest), false);
    });

    test('a run stopped after a batch resumes from its checkpoint and examines each blob once', async (t) => {
      const w = await world(t, open, 2);
      for (let i = 0; i < 7; i++) await upload(w, 'team/junk', randomBlob(100 + i));
      w.clock.advance(2 * HOUR);
      const now = w.clock.now();
      const run = await w.meta.gc.createRun({
        trigger: 'manual',
        dryRun: false,
        untagged: false,
        graceMs: HOUR,
        cutoff: now - HOUR,
        startedAt: now,
      });
      const controller = new AbortController();
      await assert.rejects(
        runGc(w.deps, run, controller.signal, () => controller.abort()),
        (error: Error) => error.message === 'gc cancelled',
      );
      const saved = await w.meta.gc.run(run.id);
      assert.equal(saved?.blobsExamined, 2);
      assert.ok(saved?.checkpoint);
      const resumed = await runGc(w.deps, saved, new AbortController().signal);
      assert.equal(resumed.blobsExamined, 7);
      assert.equal(resumed.blobsFreed, 7);
    });

    test('the service runs one at a time, records history, and resumes a run a stopped server left', async (t) => {
      const w = await world(t, open, 1);
      for (let i = 0; i < 3; i++) await upload(w, 'team/junk', randomBlob(50 + i));
      w.clock.advance(2 * HOUR);
      const service = new GcService(w.deps, { defaultGraceMs: HOUR });
      const started = await service.start({
        dryRun: false,
        untagged: false,
        graceMs: HOUR,
        trigger: 'manual',
      });
      await assert.rejects(
        service.start({ dryRun: true, untagged: false, graceMs: HOUR, trigger: 'manual' }),
        { code: 'CONFLICT' },
      );
      await service.settled();
      const done = await service.run(started.id);
      assert.equal(done?.status, 'succeeded');
      assert.equal(done?.blobsFreed, 3);
      // A run a crashed server left `running`: the next server resumes it.
      const left = await w.meta.gc.createRun({
        trigger: 'manual',
        dryRun: true,
        untagged: false,
        graceMs: 0,
        cutoff: w.clock.now(),
        startedAt: w.clock.now(),
      });
      const again = new GcService(w.deps, { defaultGraceMs: HOUR });
      const resumed = await again.resumeInterrupted();
      assert.equal(resumed?.id, left.id);
      await again.settled();
      assert.equal((await again.run(left.id))?.status, 'succeeded');
      assert.deepEqual(
        (await again.history(10)).map((r) => r.id),
        [left.id, started.id],
      );
    });

    test('race: a blob referenced again during a run is never deleted, and no row points at missing bytes', async (t) => {
      const w = await world(t, open, 4);
      const yieldTimes = async (n: number) => {
        for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
      };
      const rounds = 30;
      const outcomes = { upload: 0, mount: 0, mountRefused: 0, manifest: 0, manifestRefused: 0 };
      for (let round = 0; round < rounds; round++) {
        // Garbage around the target, so the run has batches before and after it.
        for (let i = 0; i < 3; i++) await upload(w, 'race/junk', randomBlob(64));
        const target = randomBlob(256);
        await upload(w, 'race/src', target);
        w.clock.advance(2 * HOUR);
        const kind = round % 3;
        const gc = (async () => {
          await yieldTimes(round % 7);
          return gcOnce(w, { graceMs: HOUR });
        })();
        const reference = (async () => {
          await yieldTimes((round * 5) % 11);
          if (kind === 0) {
            await upload(w, 'race/dst', target);
            outcomes.upload += 1;
            return 'must-exist';
          }
          if (kind === 1) {
            const mounted = await w.registry.mount(
              'race/dst' as RepoName,
              target.digest as Digest,
              'race/src' as RepoName,
              'any',
            );
            if (mounted) outcomes.mount += 1;
            else outcomes.mountRefused += 1;
            return mounted ? 'must-exist' : 'may-go';
          }
          const manifest = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              config: { mediaType: MediaType.ociConfig, digest: target.digest, size: target.bytes.length },
              layers: [],
            }),
          );
          try {
            await w.registry.putManifest(
              'race/src' as RepoName,
              { tag: `r${round}` as Tag },
              manifest,
              MediaType.ociManifest,
            );
            outcomes.manifest += 1;
            return 'must-exist';
          } catch (error) {
            assert.equal((error as { kind?: string }).kind, 'MANIFEST_BLOB_UNKNOWN');
            outcomes.manifestRefused += 1;
            return 'may-go';
          }
        })();
        const [, verdict] = await Promise.all([gc, reference]);
        if (verdict === 'must-exist') {
          assert.ok(await onDisk(w, target.digest), `round ${round}: a re-referenced blob lost its bytes`);
          const repo = kind === 2 ? 'race/src' : 'race/dst';
          assert.equal(await w.registry.statBlob(repo as RepoName, target.digest as Digest), 256);
        }
        await assertNoRowWithoutBytes(w);
        // Everything pushed in this round that a manifest needs survives a run long after.
        w.clock.advance(2 * HOUR);
        await gcOnce(w, { graceMs: HOUR });
        await assertNoRowWithoutBytes(w);
        if (verdict === 'must-exist' && kind === 2) assert.ok(await onDisk(w, target.digest));
      }
      assert.equal(outcomes.upload, 10, 'every upload commit succeeds, waiting out a marked row if needed');
    });
  });
}

suite('SQLite', async () => {
  const dir = await tempDir({ after }, 'berth-gc-');
  const store = openSqliteMetadata(join(dir, `meta-${randomBytes(4).toString('hex')}.sqlite`));
  await store.migrate();
  return store;
});

const url = process.env.BERTH_TEST_POSTGRES_URL;
if (url) {
  const created: string[] = [];
  after(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const db of created) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await client.end();
  });
  suite('PostgreSQL', async () => {
    const name = `berth_gc_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    created.push(name);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const store = openPostgresMetadata(dbUrl.toString(), 5);
    await store.migrate();
    return store;
  });
}

// The repository store on SQLite and, where BERTH_TEST_POSTGRES_URL names a throwaway cluster, PostgreSQL:
// removal in one transaction (a refusal keeps everything), usage per repository, unique bytes per project.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import type { MetadataStore } from './metadata-store.js';
import { openPostgresMetadata } from './postgres.js';
import { openSqliteMetadata } from './sqlite.js';

const dirs: string[] = [];
const databases: string[] = [];
const url = process.env.BERTH_TEST_POSTGRES_URL;
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  if (!url || databases.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const db of databases) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await client.end();
});

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;

async function seed(store: MetadataStore): Promise<void> {
  // team/a and team/b share blob 1; other/c links it too (another project counts it again).
  const a = await store.ensureRepository('team/a' as RepoName);
  const b = await store.ensureRepository('team/b' as RepoName);
  const c = await store.ensureRepository('other/c' as RepoName);
  await store.linkBlob(a, digest(1), 100, 1);
  await store.linkBlob(a, digest(2), 20, 1);
  await store.linkBlob(b, digest(1), 100, 1);
  await store.linkBlob(c, digest(1), 100, 1);
  const content = Buffer.from('{"schemaVersion":2}');
  const manifest = await store.putManifest(a, {
    digest: digest(10),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    content,
    blobs: [digest(1), digest(2)],
    manifests: [],
  });
  await store.setTags(a, manifest, ['v1', 'latest']);
  await store.createUpload('u1', 'team/a' as RepoName, 1);
}

function suite(dialect: string, open: () => Promise<MetadataStore>): void {
  describe(`repository store (${dialect})`, () => {
    test('usage per repository and unique bytes per project', async () => {
      const store = await open();
      try {
        await seed(store);
        const team = await store.repositories.repositoryUsage('team');
        assert.deepEqual(
          team.map((r) => [r.repository, r.logicalBytes, r.blobs, r.manifests, r.tags, r.uploads]),
          [
            ['team/a', 120 + 19, 2, 1, 2, 1],
            ['team/b', 100, 1, 0, 0, 0],
          ],
        );
        assert.deepEqual(await store.repositories.projectBlobTotals('team'), {
          uniqueBlobs: 2,
          uniqueBytes: 120,
        });
        assert.deepEqual(await store.repositories.projectBlobTotals('other'), {
          uniqueBlobs: 1,
          uniqueBytes: 100,
        });
        // A project named like the start of another is not mixed in.
        assert.deepEqual(await store.repositories.repositoryUsage('tea'), []);
        assert.deepEqual(await store.repositories.storeBlobTotals(), { uniqueBlobs: 2, uniqueBytes: 120 });
      } finally {
        await store.close();
      }
    });

    test('a refusal keeps everything; a removal takes tags, manifests and links, not blobs', async () => {
      const store = await open();
      try {
        await seed(store);
        const name = 'team/a' as RepoName;
        await assert.rejects(
          store.repositories.removeRepository(name, (tags) => {
            assert.deepEqual([...tags].sort(), ['latest', 'v1']);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.equal((await store.manifestInfo(name, { tag: 'v1' }))?.digest, digest(10));
        assert.deepEqual(await store.repositories.removeRepository(name, () => {}), {
          tags: 2,
          manifests: 1,
          blobLinks: 2,
        });
        assert.equal(await store.repositoryId(name), undefined);
        assert.equal(await store.repositories.removeRepository(name, () => {}), undefined);
        // The blob rows stay for garbage collection; team/b still reads blob 1.
        assert.equal(await store.linkedBlobSize('team/b' as RepoName, digest(1)), 100);
        assert.deepEqual(await store.repositories.storeBlobTotals(), { uniqueBlobs: 2, uniqueBytes: 120 });
      } finally {
        await store.close();
      }
    });
  });
}

suite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-repository-store-'));
  dirs.push(dir);
  const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
  await store.migrate();
  return store;
});

if (url) {
  suite('PostgreSQL', async () => {
    const name = `berth_test_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    databases.push(name);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const store = openPostgresMetadata(dbUrl.toString(), 5);
    await store.migrate();
    return store;
  });
}

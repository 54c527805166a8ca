// The retention store's shared suite: SQLite and PostgreSQL run the same cases (retention-store.test.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import type { MetadataStore } from './metadata-store.js';

const digestOf = (text: string): Digest =>
  `sha256:${createHash('sha256').update(text).digest('hex')}` as Digest;
const repo = (name: string): RepoName => name as RepoName;

/** Stores a manifest referencing one blob (or child manifests) in `name`, tagged with `tags`; returns its digest. */
async function put(
  store: MetadataStore,
  name: string,
  seed: string,
  tags: string[],
  extra: { manifests?: Digest[]; subject?: Digest } = {},
): Promise<{ digest: Digest; id: number }> {
  const blob = digestOf(`blob ${seed}`);
  const content = Buffer.from(JSON.stringify({ seed }));
  const digest = digestOf(content.toString());
  const id = await store.tx(async (tx) => {
    const repositoryId = await tx.ensureRepository(repo(name));
    await tx.linkBlob(repositoryId, blob, 100);
    const manifestId = await tx.putManifest(repositoryId, {
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content,
      blobs: [blob],
      manifests: extra.manifests ?? [],
      ...(extra.subject ? { subjectDigest: extra.subject } : {}),
    });
    await tx.setTags(repositoryId, manifestId, tags);
    return manifestId;
  });
  return { digest, id };
}

export function retentionStoreSuite(name: string, open: () => Promise<MetadataStore>): void {
  describe(`retention store on ${name}`, () => {
    test('policies: set, replace, list, delete; a project deleted takes its policy', async (t) => {
      const store = await open();
      t.after(() => store.close());
      for (const project of ['team', 'other'])
        await store.access.createProject({ name: project, public: false, createdAt: 1 });
      const r = store.retention;
      await r.setPolicy({ project: 'team', policy: { rules: [] }, updatedAt: 5, updatedBy: 'alice' });
      await r.setPolicy({ project: 'team', policy: { maxDeleteShare: 0.2 }, updatedAt: 6, updatedBy: 'bob' });
      await r.setPolicy({ project: 'other', policy: {}, updatedAt: 7, updatedBy: 'bob' });
      assert.deepEqual(await r.getPolicy('team'), {
        project: 'team',
        policy: { maxDeleteShare: 0.2 },
        updatedAt: 6,
        updatedBy: 'bob',
      });
      assert.deepEqual(
        (await r.listPolicies()).map((p) => p.project),
        ['other', 'team'],
      );
      assert.equal(await r.deletePolicy('other'), true);
      assert.equal(await r.deletePolicy('other'), false);
      await store.access.deleteProject('team');
      assert.equal(await r.getPolicy('team'), undefined);
    });

    test("a project's tags are its repositories' only, with pull times written in batches", async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = await put(store, 'team/app', 'a', ['v1', 'latest']);
      await put(store, 'team/sub/x', 'b', ['v2']);
      await put(store, 'team0/app', 'c', ['v3']);
      await put(store, 'teamx/app', 'd', ['v4']);
      await put(store, 'team', 'e', ['v5']);
      const gone = await put(store, 'team/app', 'gone', []);
      await store.deleteManifest(repo('team/app'), gone.digest);
      await store.retention.recordPulls([
        { manifestId: a.id, at: 50 },
        { manifestId: gone.id, at: 60 },
      ]);
      await store.retention.recordPulls([{ manifestId: a.id, at: 40 }]);
      const tags = await store.retention.projectTags('team');
      assert.deepEqual(
        tags.map((tag) => [tag.repository, tag.tag, tag.pulledAt]),
        [
          ['team/app', 'latest', 50],
          ['team/app', 'v1', 50],
          ['team/sub/x', 'v2', null],
        ],
      );
      assert.deepEqual(tags[0]?.blobs, [{ digest: digestOf('blob a'), size: 100 }]);
      assert.equal(tags[0]?.digest, a.digest);
    });

    test('tag deletes are guarded by the manifest the plan saw', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = await put(store, 'team/app', 'a', ['v1']);
      const b = await put(store, 'team/app', 'b', ['v2']);
      // v1 moved to b after the plan.
      await store.tx(async (tx) =>
        tx.setTags((await tx.repositoryId(repo('team/app'))) as number, b.id, ['v1']),
      );
      assert.equal(await store.retention.deleteTagIfAt(repo('team/app'), 'v1', a.id), false);
      assert.equal(await store.retention.deleteTagIfAt(repo('team/app'), 'v1', b.id), true);
      assert.deepEqual(await store.listTags((await store.repositoryId(repo('team/app'))) as number, {}), [
        'v2',
      ]);
    });

    test('untagged manifests: index children and referrers of present subjects are needed', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const child = await put(store, 'team/app', 'child', []);
      await put(store, 'team/app', 'index', [], { manifests: [child.digest] });
      const subject = await put(store, 'team/app', 'subject', ['v1']);
      const signature = await put(store, 'team/app', 'sig', [], { subject: subject.digest });
      const orphan = await put(store, 'team/app', 'orphan', [], { subject: digestOf('absent') });
      const rows = await store.retention.untaggedManifests('team');
      const needed = Object.fromEntries(rows.map((row) => [row.digest, row.needed]));
      assert.equal(needed[child.digest], true);
      assert.equal(needed[signature.digest], true);
      assert.equal(needed[orphan.digest], false);
      assert.equal(needed[subject.digest], undefined, 'a tagged manifest is not listed');
      assert.equal(rows.length, 4);
      assert.equal(await store.retention.deleteUntaggedManifest(repo('team/app'), child.digest), false);
      assert.equal(await store.retention.deleteUntaggedManifest(repo('team/app'), subject.digest), false);
      assert.equal(await store.retention.deleteUntaggedManifest(repo('team/app'), orphan.digest), true);
      assert.equal(await store.manifestInfo(repo('team/app'), { digest: orphan.digest }), undefined);
    });

    test('runs: stored with their result, listed newest first a page at a time', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const base = {
        project: 'team',
        startedAt: 1,
        finishedAt: 2,
        trigger: 'manual',
        actor: 'admin',
        dryRun: false,
        forced: false,
        status: 'done',
        deletedTags: 1,
        deletedManifests: 0,
        bytesFreed: 5_000_000_000,
        result: { tags: [{ tag: 'v1' }] },
      };
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) ids.push(await store.retention.addRun({ ...base, dryRun: i === 1 }));
      await store.retention.addRun({ ...base, project: 'other' });
      const runs = await store.retention.listRuns('team', 2);
      assert.deepEqual(
        runs.map((run) => run.id),
        [ids[2], ids[1]],
      );
      assert.equal(runs[1]?.dryRun, true);
      assert.equal(runs[0]?.bytesFreed, 5_000_000_000);
      assert.deepEqual(runs[0]?.result, { tags: [{ tag: 'v1' }] });
      assert.deepEqual(
        (await store.retention.listRuns('team', 10, ids[1])).map((run) => run.id),
        [ids[0]],
      );
    });
  });
}

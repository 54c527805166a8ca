import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import { immutabilityCases } from './immutability-store.test-suite.js';
import type { MetadataStore, NewManifest } from './metadata-store.js';

const repo = (name: string): RepoName => name as RepoName;
const digest = (seed: string): Digest =>
  `sha256:${createHash('sha256').update(seed).digest('hex')}` as Digest;

function manifest(overrides: Partial<NewManifest> = {}): NewManifest {
  const content =
    overrides.content ?? Buffer.from(`{"schemaVersion":2, "nonce":"${randomBytes(4).toString('hex')}"}`);
  return {
    digest: `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    content,
    blobs: [],
    manifests: [],
    ...overrides,
  };
}

/**
 * What the registry relies on from its metadata store, run on every dialect. `open` gives a fresh, migrated,
 * empty store each time.
 */
export function metadataSuite(name: string, open: () => Promise<MetadataStore>): void {
  describe(`metadata on ${name}`, () => {
    immutabilityCases(open);

    test('migrations are idempotent', async (t) => {
      const store = await open();
      t.after(() => store.close());
      await store.migrate();
      await store.migrate();
      assert.equal(await store.repositoryId(repo('nothing/here')), undefined);
    });

    test('repositories: created once, listed in byte order, paginated', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const names = ['ab', 'a_b', 'a0', 'a.b', 'a-b', 'b/c', 'b'];
      const ids = await Promise.all(names.map((n) => store.ensureRepository(repo(n))));
      assert.equal(new Set(ids).size, names.length);
      assert.equal(await store.ensureRepository(repo('ab')), ids[0]);
      const sorted = [...names].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1));
      assert.deepEqual(await store.listRepositories({}), sorted);
      assert.deepEqual(await store.listRepositories({ limit: 2 }), sorted.slice(0, 2));
      assert.deepEqual(await store.listRepositories({ limit: 3, after: sorted[1] }), sorted.slice(2, 5));
    });

    test('blob links are per repository', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = await store.ensureRepository(repo('team-a/app'));
      const b = await store.ensureRepository(repo('team-b/app'));
      const d = digest('layer');
      await store.linkBlob(a, d, 1234);
      await store.linkBlob(a, d, 1234);
      assert.equal(await store.linkedBlobSize(repo('team-a/app'), d), 1234);
      assert.equal(await store.linkedBlobSize(repo('team-b/app'), d), undefined);
      assert.deepEqual(await store.unlinkedBlobs(b, [d]), [d]);
      await store.linkBlob(b, d, 1234);
      assert.deepEqual(await store.unlinkedBlobs(b, [d]), []);
      assert.equal(await store.unlinkBlob(repo('team-a/app'), d), true);
      assert.equal(await store.unlinkBlob(repo('team-a/app'), d), false);
      assert.equal(await store.linkedBlobSize(repo('team-a/app'), d), undefined);
      assert.equal(await store.linkedBlobSize(repo('team-b/app'), d), 1234);
      const many = Array.from({ length: 1200 }, (_, i) => digest(`many-${i}`));
      for (const m of many.slice(0, 600)) await store.linkBlob(b, m, 1);
      assert.deepEqual(await store.unlinkedBlobs(b, many), many.slice(600));
    });

    test('repositories linking a blob: by name, bounded (where a mount without a source looks)', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const d = digest('shared');
      for (const name of ['z/last', 'a/first', 'm/middle']) {
        await store.linkBlob(await store.ensureRepository(repo(name)), d, 10);
      }
      await store.linkBlob(await store.ensureRepository(repo('other/one')), digest('else'), 10);
      assert.deepEqual(await store.repositoriesLinking(d, 10), ['a/first', 'm/middle', 'z/last']);
      assert.deepEqual(await store.repositoriesLinking(d, 2), ['a/first', 'm/middle']);
      assert.deepEqual(await store.repositoriesLinking(digest('nowhere'), 10), []);
    });

    test('manifests: stored byte for byte, tags move, deletes', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const id = await store.ensureRepository(repo('team/app'));
      const content = Buffer.from('{\n  "schemaVersion": 2,\n  "odd":  "spacing é"\n}');
      const m1 = manifest({ content, annotations: { 'org.opencontainers.image.title': 'x' } });
      const m2 = manifest();
      const row1 = await store.putManifest(id, m1);
      assert.equal(await store.putManifest(id, m1), row1, 'a second put of the same manifest is a no-op');
      const row2 = await store.putManifest(id, m2);
      await store.setTags(id, row1, ['v1', 'latest']);
      const got = await store.manifest(repo('team/app'), { tag: 'latest' });
      assert.ok(got);
      assert.deepEqual(got.content, content);
      assert.equal(got.digest, m1.digest);
      assert.equal(got.size, content.length);
      assert.deepEqual(got.annotations, { 'org.opencontainers.image.title': 'x' });
      await store.setTags(id, row2, ['latest']);
      assert.equal((await store.manifestInfo(repo('team/app'), { tag: 'latest' }))?.digest, m2.digest);
      assert.equal((await store.manifestInfo(repo('team/app'), { tag: 'v1' }))?.digest, m1.digest);
      assert.equal((await store.manifest(repo('team/app'), { digest: m2.digest }))?.mediaType, m2.mediaType);
      assert.equal(await store.manifest(repo('other/app'), { digest: m2.digest }), undefined);
      assert.deepEqual(await store.missingManifests(id, [m1.digest, digest('nope')]), [digest('nope')]);
      assert.equal(await store.deleteTag(repo('team/app'), 'v1'), true);
      assert.equal(await store.deleteTag(repo('team/app'), 'v1'), false);
      assert.ok(
        await store.manifestInfo(repo('team/app'), { digest: m1.digest }),
        'deleting a tag keeps the manifest',
      );
      assert.equal(await store.deleteManifest(repo('team/app'), m2.digest), true);
      assert.equal(
        await store.manifestInfo(repo('team/app'), { tag: 'latest' }),
        undefined,
        'its tags went with it',
      );
      assert.equal(await store.deleteManifest(repo('team/app'), m2.digest), false);
    });

    test('tags list in byte order with pagination', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const id = await store.ensureRepository(repo('tags/app'));
      const row = await store.putManifest(id, manifest());
      const tags = ['b', 'A', 'a', 'v1.10', 'v1.9', '_x', 'Z'];
      await store.setTags(id, row, tags);
      const sorted = [...tags].sort();
      assert.deepEqual(await store.listTags(id, {}), sorted);
      assert.deepEqual(await store.listTags(id, { limit: 3 }), sorted.slice(0, 3));
      assert.deepEqual(await store.listTags(id, { after: sorted[2] }), sorted.slice(3));
      assert.deepEqual(await store.listTags(id, { limit: 0 }), []);
    });

    test('referrers by subject, filtered by artifact type', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const id = await store.ensureRepository(repo('ref/app'));
      const subject = digest('subject');
      const sbom = manifest({
        subjectDigest: subject,
        artifactType: 'application/sbom',
        annotations: { a: '1' },
      });
      const sig = manifest({ subjectDigest: subject, artifactType: 'application/sig' });
      await store.putManifest(id, sbom);
      await store.putManifest(id, sig);
      await store.putManifest(id, manifest({ subjectDigest: digest('other') }));
      const all = await store.listReferrers(repo('ref/app'), subject);
      assert.deepEqual(all.map((r) => r.digest).sort(), [sbom.digest, sig.digest].sort());
      const only = await store.listReferrers(repo('ref/app'), subject, 'application/sbom');
      assert.deepEqual(
        only.map((r) => [r.digest, r.artifactType, r.annotations]),
        [[sbom.digest, 'application/sbom', { a: '1' }]],
      );
      assert.deepEqual(await store.listReferrers(repo('elsewhere/app'), subject), []);
    });

    test('a transaction that throws leaves nothing behind', async (t) => {
      const store = await open();
      t.after(() => store.close());
      await assert.rejects(
        store.tx(async (tx) => {
          const id = await tx.ensureRepository(repo('tx/app'));
          const row = await tx.putManifest(id, manifest());
          await tx.setTags(id, row, ['v1']);
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.equal(await store.repositoryId(repo('tx/app')), undefined);
      const ok = await store.tx(async (tx) => {
        const id = await tx.ensureRepository(repo('tx/app'));
        const row = await tx.putManifest(id, manifest());
        await tx.setTags(id, row, ['v1']);
        return id;
      });
      assert.equal(await store.repositoryId(repo('tx/app')), ok);
      assert.ok(await store.manifestInfo(repo('tx/app'), { tag: 'v1' }));
    });

    test('concurrent transactions on one repository all land', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.tx(async (tx) => {
            const id = await tx.ensureRepository(repo('busy/app'));
            await tx.linkBlob(id, digest(`blob-${i}`), i);
            const row = await tx.putManifest(id, manifest());
            await tx.setTags(id, row, [`t${i}`, 'latest']);
            return id;
          }),
        ),
      );
      assert.equal(new Set(results).size, 1);
      assert.equal((await store.listTags(results[0] as number, {})).length, 21);
    });

    test('access: users, robots, projects, members, roles, bindings', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = store.access;
      assert.equal(await a.countUsers(), 0);
      assert.equal(
        await a.createUser({ name: 'alice', passwordHash: 'h1', admin: false, createdAt: 1 }),
        true,
      );
      assert.equal(
        await a.createUser({ name: 'alice', passwordHash: 'h2', admin: true, createdAt: 2 }),
        false,
        'names are unique',
      );
      assert.equal(await a.updateUser('alice', { admin: true, passwordHash: 'h3' }), true);
      assert.deepEqual(await a.getUser('alice'), {
        name: 'alice',
        passwordHash: 'h3',
        admin: true,
        createdAt: 1,
        grantsVersion: 1,
      });
      assert.equal(await a.updateUser('nobody', { admin: true }), false);
      const robot = {
        name: 'robot$ci',
        secretHash: 's',
        permissions: [{ repo: 'team/**', actions: ['pull', 'push'] }],
        description: 'CI',
        expiresAt: 5000,
        createdBy: 'alice',
        createdAt: 3,
      };
      assert.equal(await a.createRobot(robot), true);
      assert.equal(await a.createRobot(robot), false);
      assert.deepEqual(await a.getRobot('robot$ci'), { ...robot, grantsVersion: 0 });
      assert.equal(await a.createProject({ name: 'team', public: false, createdAt: 4 }), true);
      assert.equal(await a.createProject({ name: 'team', public: true, createdAt: 5 }), false);
      assert.equal(await a.updateProject('team', { public: true }), true);
      assert.equal((await a.getProject('team'))?.public, true);
      await a.setMember({ project: 'team', subjectKind: 'user', subject: 'alice', role: 'guest' });
      await a.setMember({ project: 'team', subjectKind: 'user', subject: 'alice', role: 'developer' });
      await a.setMember({ project: 'team', subjectKind: 'robot', subject: 'robot$ci', role: 'maintainer' });
      assert.equal(await a.memberRole('team', 'user', 'alice'), 'developer');
      assert.equal((await a.listMembers('team')).length, 2);
      await a.createProject({ name: 'apps', public: false, createdAt: 5 });
      await a.setMember({ project: 'apps', subjectKind: 'user', subject: 'alice', role: 'guest' });
      assert.deepEqual(
        await a.membershipsOf('user', 'alice'),
        [
          { project: 'apps', subjectKind: 'user', subject: 'alice', role: 'guest' },
          { project: 'team', subjectKind: 'user', subject: 'alice', role: 'developer' },
        ],
        'every project of the subject, by name',
      );
      assert.deepEqual(
        (await a.membershipsOf('robot', 'robot$ci')).map((m) => m.project),
        ['team'],
        'a robot and a user are told apart by kind',
      );
      assert.deepEqual(await a.membershipsOf('robot', 'alice'), []);
      assert.equal(await a.deleteProject('apps'), true);
      await a.putRole('reader', [{ repo: 'team/*', actions: ['pull'] }], 6);
      await a.putRole('reader', [{ repo: 'other/*', actions: ['pull'] }], 7);
      await a.putRole('writer', [{ repo: 'team/**', actions: ['push'] }], 8);
      await a.bindRole('reader', 'user', 'alice');
      await a.bindRole('reader', 'user', 'alice');
      await a.bindRole('writer', 'user', 'alice');
      assert.deepEqual(
        (await a.policiesFor('user', 'alice')).map((p) => p.repo).sort(),
        ['other/*', 'team/**'],
        'putRole replaces policies; bindings stay',
      );
      assert.deepEqual((await a.getRole('reader'))?.bindings, [{ subjectKind: 'user', subject: 'alice' }]);
      assert.equal(await a.unbindRole('writer', 'user', 'alice'), true);
      assert.equal(await a.deleteUser('alice'), true);
      assert.equal(
        await a.memberRole('team', 'user', 'alice'),
        undefined,
        'a deleted user leaves no membership',
      );
      assert.deepEqual(await a.policiesFor('user', 'alice'), [], 'nor role bindings');
      assert.equal(await a.deleteRobot('robot$ci'), true);
      assert.deepEqual(await a.listMembers('team'), []);
      assert.equal(await a.deleteRole('reader'), true);
      assert.equal(await a.deleteProject('team'), true);
      assert.equal(await a.getProject('team'), undefined);
    });

    test('access: grants versions move with every change of what an account may do, and only then', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = store.access;
      await a.createUser({ name: 'ann', passwordHash: 'h', admin: false, createdAt: 1 });
      await a.createUser({ name: 'ben', passwordHash: 'h', admin: false, createdAt: 1 });
      await a.createRobot({
        name: 'robot$r',
        secretHash: 's',
        permissions: [],
        description: '',
        expiresAt: null,
        createdBy: 'ann',
        createdAt: 1,
      });
      await a.createProject({ name: 'team', public: false, createdAt: 1 });
      const versions = async () => [
        (await a.getUser('ann'))?.grantsVersion,
        (await a.getUser('ben'))?.grantsVersion,
        (await a.getRobot('robot$r'))?.grantsVersion,
      ];
      assert.deepEqual(await versions(), [0, 0, 0]);
      await a.setMember({ project: 'team', subjectKind: 'user', subject: 'ann', role: 'guest' });
      await a.setMember({ project: 'team', subjectKind: 'robot', subject: 'robot$r', role: 'guest' });
      assert.deepEqual(await versions(), [1, 0, 1]);
      await a.updateUser('ann', { passwordHash: 'h2' });
      assert.deepEqual(await versions(), [1, 0, 1], 'a password is not a grant');
      await a.updateUser('ann', { admin: true });
      assert.equal(await a.removeMember('team', 'user', 'ben'), false);
      assert.deepEqual(await versions(), [2, 0, 1], 'removing nothing moves nothing');
      await a.putRole('readers', [{ repo: 'team/*', actions: ['pull'] }], 1);
      await a.bindRole('readers', 'user', 'ben');
      await a.bindRole('readers', 'robot', 'robot$r');
      assert.deepEqual(await versions(), [2, 1, 2]);
      await a.putRole('readers', [], 2);
      assert.deepEqual(await versions(), [2, 2, 3], 'a bound role changed');
      assert.equal(await a.unbindRole('readers', 'user', 'ben'), true);
      await a.deleteRole('readers');
      assert.deepEqual(await versions(), [2, 3, 4]);
      await a.deleteProject('team');
      assert.deepEqual(await versions(), [3, 3, 5], "the project's members");
    });

    test('access: audit log pages newest first; signing keys keep the first one written', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const a = store.access;
      for (let i = 0; i < 5; i++) {
        await a.audit({
          at: 1000 + i,
          actor: i % 2 ? 'bob' : 'alice',
          actorKind: 'user',
          event: 'login.succeeded',
          source: '127.0.0.1',
          detail: { i },
        });
      }
      const page = await a.listAudit({ limit: 2 });
      assert.deepEqual(
        page.map((e) => e.detail?.i),
        [4, 3],
      );
      const next = await a.listAudit({ limit: 10, before: page[1]?.id });
      assert.deepEqual(
        next.map((e) => e.detail?.i),
        [2, 1, 0],
      );
      assert.deepEqual(
        (await a.listAudit({ limit: 10, actor: 'bob' })).map((e) => e.detail?.i),
        [3, 1],
      );
      assert.equal(
        await a.addSigningKey({ kid: 'k1', algorithm: 'ES256', privateJwk: '{}', createdAt: 1 }),
        true,
      );
      assert.equal(
        await a.addSigningKey({ kid: 'k1', algorithm: 'ES256', privateJwk: '{"x":1}', createdAt: 2 }),
        false,
      );
      assert.deepEqual(await a.signingKeys(), [
        { kid: 'k1', algorithm: 'ES256', privateJwk: '{}', createdAt: 1 },
      ]);
    });

    test('upload sessions', async (t) => {
      const store = await open();
      t.after(() => store.close());
      await store.createUpload('u1', repo('up/app'), 1000);
      assert.deepEqual(await store.getUpload('u1'), {
        id: 'u1',
        repository: 'up/app',
        createdAt: 1000,
        updatedAt: 1000,
      });
      await store.touchUpload('u1', 2000);
      assert.equal((await store.getUpload('u1'))?.updatedAt, 2000);
      await store.createUpload('u2', repo('up/app'), 5000);
      assert.deepEqual(await store.staleUploads(3000, 10), ['u1']);
      assert.deepEqual(await store.staleUploads(6000, 10), ['u1', 'u2']);
      assert.deepEqual(await store.staleUploads(6000, 1), ['u1']);
      await store.deleteUpload('u2');
      await store.deleteUpload('u1');
      assert.equal(await store.getUpload('u1'), undefined);
    });

    test('blob check queries: linked digests paged, and what a bad blob breaks per repository', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const layer = digest('shared layer');
      const other = digest('other layer');
      const app = await store.ensureRepository(repo('dep/app'));
      const multi = await store.ensureRepository(repo('dep/multi'));
      const loose = await store.ensureRepository(repo('dep/loose'));
      for (const id of [app, multi]) {
        await store.linkBlob(id, layer, 10);
        await store.linkBlob(id, other, 20);
      }
      await store.linkBlob(loose, layer, 10);
      const image = manifest({ blobs: [layer, other] });
      const unrelated = manifest({ blobs: [other] });
      await store.setTags(app, await store.putManifest(app, image), ['v1', 'latest']);
      await store.setTags(app, await store.putManifest(app, unrelated), ['other']);
      await store.putManifest(multi, image);
      const index = manifest({
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [image.digest],
      });
      await store.setTags(multi, await store.putManifest(multi, index), ['multi']);

      assert.deepEqual(await store.blobDependents(layer), [
        { repository: 'dep/app', linked: true, manifests: [image.digest], tags: ['latest', 'v1'] },
        { repository: 'dep/loose', linked: true, manifests: [], tags: [] },
        { repository: 'dep/multi', linked: true, manifests: [image.digest, index.digest], tags: ['multi'] },
      ]);
      assert.deepEqual(await store.blobDependents(digest('nobody uses this')), []);

      const sorted = [layer, other].sort();
      assert.deepEqual(await store.linkedBlobDigests({}), sorted);
      assert.deepEqual(await store.linkedBlobDigests({ limit: 1 }), sorted.slice(0, 1));
      assert.deepEqual(await store.linkedBlobDigests({ after: sorted[0] }), sorted.slice(1));
    });

    test('sizes of linked blobs and manifests; which tag still needs a blob or child manifest', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const id = await store.ensureRepository(repo('team/app'));
      const other = await store.ensureRepository(repo('team/other'));
      const [layer, loose, elsewhere] = [digest('layer'), digest('loose'), digest('elsewhere')];
      await store.linkBlob(id, layer, 10);
      await store.linkBlob(id, loose, 20);
      await store.linkBlob(other, elsewhere, 30);
      assert.deepEqual(
        await store.linkedBlobSizes(id, [layer, loose, elsewhere, layer]),
        new Map([
          [layer, 10],
          [loose, 20],
        ]),
      );
      const image = manifest({ blobs: [layer] });
      const imageId = await store.putManifest(id, image);
      const inner = manifest({
        manifests: [image.digest],
        mediaType: 'application/vnd.oci.image.index.v1+json',
      });
      await store.putManifest(id, inner);
      const outer = manifest({
        manifests: [inner.digest],
        mediaType: 'application/vnd.oci.image.index.v1+json',
      });
      const outerId = await store.putManifest(id, outer);
      assert.deepEqual(
        await store.manifestSizes(id, [image.digest, inner.digest, digest('none')]),
        new Map([
          [image.digest, image.content.length],
          [inner.digest, inner.content.length],
        ]),
      );
      // Nothing tagged: nothing needed.
      assert.equal(await store.taggedUserOf(id, layer, 'blob'), undefined);
      // A tag on the outer index reaches the image through two indexes.
      await store.setTags(id, outerId, ['top']);
      assert.deepEqual(await store.taggedUserOf(id, layer, 'blob'), { manifest: image.digest, tag: 'top' });
      assert.deepEqual(await store.taggedUserOf(id, image.digest, 'manifest'), {
        manifest: inner.digest,
        tag: 'top',
      });
      assert.equal(await store.taggedUserOf(id, loose, 'blob'), undefined);
      assert.equal(await store.taggedUserOf(id, layer, 'manifest'), undefined, 'kinds are not mixed');
      assert.equal(await store.taggedUserOf(other, layer, 'blob'), undefined, 'another repository');
      // A tag straight on the image; the first tag in byte order is named.
      await store.setTags(id, imageId, ['b-image', 'a-image']);
      assert.deepEqual(await store.taggedUserOf(id, layer, 'blob'), {
        manifest: image.digest,
        tag: 'a-image',
      });
      await store.deleteTag(repo('team/app'), 'top');
      await store.deleteTag(repo('team/app'), 'a-image');
      await store.deleteTag(repo('team/app'), 'b-image');
      assert.equal(await store.taggedUserOf(id, image.digest, 'manifest'), undefined);
    });

    test('events: written with their change or not at all; ids increase; listed by id; pruned', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const pushed = manifest();
      // A transaction that fails after writing both its change and its event keeps neither.
      await assert.rejects(
        store.tx(async (tx) => {
          const id = await tx.ensureRepository(repo('team/app'));
          const manifestId = await tx.putManifest(id, pushed);
          await tx.setTags(id, manifestId, ['v1']);
          await tx.recordEvents([
            { type: 'push', at: 1, repository: 'team/app', digest: pushed.digest, tag: 'v1' },
          ]);
          throw new Error('crash before commit');
        }),
        /crash before commit/,
      );
      assert.deepEqual(await store.events.list({ limit: 10 }), []);
      assert.equal(await store.manifestInfo(repo('team/app'), { tag: 'v1' }), undefined);
      // The same transaction, committed: both are there.
      await store.tx(async (tx) => {
        const id = await tx.ensureRepository(repo('team/app'));
        const manifestId = await tx.putManifest(id, pushed);
        await tx.setTags(id, manifestId, ['v1']);
        await tx.recordEvents([
          {
            type: 'push',
            at: 1000,
            repository: 'team/app',
            project: 'team',
            digest: pushed.digest,
            tag: 'v1',
            actor: 'alice',
            payload: { mediaType: 'x' },
          },
        ]);
      });
      assert.ok(await store.manifestInfo(repo('team/app'), { tag: 'v1' }));
      await store.events.record([
        { type: 'pull', at: 2000, repository: 'team/app', digest: pushed.digest },
        { type: 'pull', at: 3000, repository: 'team/app', digest: pushed.digest },
      ]);
      const all = await store.events.list({ limit: 10 });
      assert.deepEqual(
        all.map((e) => [e.type, e.at, e.actor, e.payload]),
        [
          ['push', 1000, 'alice', { mediaType: 'x' }],
          ['pull', 2000, null, null],
          ['pull', 3000, null, null],
        ],
      );
      const ids = all.map((e) => e.id);
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
      );
      assert.equal(await store.events.lastId(), ids[2]);
      assert.deepEqual(
        (await store.events.list({ limit: 10, afterId: ids[0] })).map((e) => e.id),
        ids.slice(1),
      );
      assert.deepEqual(
        (await store.events.list({ limit: 10, types: ['push'] })).map((e) => e.id),
        [ids[0]],
      );
      assert.deepEqual(
        (await store.events.list({ limit: 10, since: 2500 })).map((e) => e.id),
        [ids[2]],
      );
      assert.deepEqual(await store.events.list({ limit: 10, afterId: ids[2] }), []);
      assert.equal(await store.events.prune(1500, undefined), 1);
      assert.equal(await store.events.prune(undefined, 1), 1);
      assert.deepEqual(
        (await store.events.list({ limit: 10 })).map((e) => e.id),
        [ids[2]],
      );
    });

    test('storage per repository: linked blobs and manifests', async (t) => {
      const store = await open();
      t.after(() => store.close());
      const id = await store.ensureRepository(repo('team/app'));
      await store.linkBlob(id, digest('layer'), 1000);
      const m = manifest();
      await store.putManifest(id, m);
      await store.ensureRepository(repo('empty/repo'));
      assert.deepEqual(await store.storageByRepository(), new Map([['team/app', 1000 + m.content.length]]));
    });
  });
}

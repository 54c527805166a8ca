import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../clock/clock.js';
import { createLogger } from '../main/logger.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import { type RetentionRunResult, runRetention } from './retention-run.js';

const log = createLogger('silent');
const DAY = 24 * 60 * 60 * 1000;

test('a run over a real store: the dry run deletes nothing, an immutable tag stays, both runs are stored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-retention-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
  t.after(() => store.close());
  await store.migrate();
  await store.access.createProject({ name: 'team', public: false, createdAt: 1 });
  const repo = 'team/app' as RepoName;
  for (const tag of ['a', 'b', 'c', 'd']) {
    const content = Buffer.from(JSON.stringify({ tag }));
    await store.tx(async (tx) => {
      const id = await tx.ensureRepository(repo);
      const manifest = await tx.putManifest(id, {
        digest: `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        content,
        blobs: [],
        manifests: [],
      });
      await tx.setTags(id, manifest, [tag]);
    });
  }
  await store.retention.setPolicy({
    project: 'team',
    policy: { rules: [{ tags: '{a,b,c}', keep: { pushedWithinDays: 1 } }] },
    updatedAt: 1,
    updatedBy: 'admin',
  });
  const clock = new ManualClock(Date.now() + 2 * DAY);
  const context = {
    store: store.retention,
    clock,
    log,
    isImmutable: (_r: RepoName, tag: string) => tag === 'a',
  };
  const request = { project: 'team', force: false, trigger: 'manual' as const, actor: 'admin' };
  const tags = async () => store.listTags((await store.repositoryId(repo)) as number, {});

  const dry = await runRetention({ ...request, dryRun: true }, context);
  const planned = dry.result as RetentionRunResult;
  assert.deepEqual(dry.result, {
    tags: [
      { repository: repo, tag: 'a', digest: planned.tags[0]?.digest, action: 'keep', reason: 'immutable' },
      { ...planned.tags[1], action: 'delete' },
      { ...planned.tags[2], action: 'delete' },
      { ...planned.tags[3], action: 'keep', reason: 'no rule selects it' },
    ],
    untagged: [],
    refused: [],
    skipped: [],
  });
  assert.deepEqual(await tags(), ['a', 'b', 'c', 'd']);
  const real = await runRetention({ ...request, dryRun: false }, context);
  assert.equal(real.deletedTags, 2);
  assert.deepEqual(await tags(), ['a', 'd']);
  assert.deepEqual(
    (await store.retention.listRuns('team', 10)).map((r) => [r.dryRun, r.deletedTags, r.startedAt]),
    [
      [false, 2, clock.now()],
      [true, 0, clock.now()],
    ],
  );
  await assert.rejects(runRetention({ ...request, project: 'other', dryRun: true }, context), {
    code: 'NOT_FOUND',
  });
});

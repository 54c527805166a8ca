// `berth tag`, `tags`, `rm`, `inspect` and `history` against Berth and CNCF Distribution.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  addLayoutIndex,
  blobPath,
  type ClientEnv,
  makeClientEnv,
  readLayoutRef,
  sha256,
} from '../support/containers.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout, type LayoutImage } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  actions,
  assertNotTagged,
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  describeRun,
  getManifest,
  type ImageConfig,
  type PushReport,
  pushJson,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const gate = await requireDistribution('skopeo', 'umoci');

interface InspectJson {
  name: string;
  digest: string;
  mediaType: string;
  platforms?: string[];
  platformDigest?: string;
  os: string;
  architecture: string;
  labels: Record<string, string>;
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
  size: number;
}

interface HistoryRow {
  created: string;
  createdBy: string;
  size: number;
  layer: string | null;
  emptyLayer: boolean;
}

describe('berth tag, tags, rm, inspect, history', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let distribution: Distribution | undefined;
  let client: ClientEnv;
  let registries: TestRegistry[] = [];
  let layout: string;
  let v1: LayoutImage;
  let v2: LayoutImage;
  let v1Config: ImageConfig;
  let index: { bytes: Buffer; digest: string };
  let env: BerthEnv;

  const each = async (fn: (registry: TestRegistry) => Promise<void>): Promise<void> => {
    await Promise.all(registries.map(fn));
  };
  const ref = (registry: TestRegistry, reference: string): string => `${registry.hostPort}/${reference}`;
  const tagJson = async (from: string, to: string): Promise<PushReport> => {
    const r = assertOk(await berth(env, ['tag', '--json', from, to]));
    return JSON.parse(r.stdout) as PushReport;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-repo-');
    [server, distribution] = await Promise.all([
      startTestServer({ data: join(work, 'berth-data') }),
      startDistribution({ dir: join(work, 'distribution') }),
    ]);
    registries = [
      { name: 'berth', hostPort: server.hostPort, url: server.url },
      { name: 'distribution', hostPort: distribution.hostPort, url: distribution.url },
    ];
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    const built = await buildTestLayout(client, join(work, 'umoci'));
    ({ layout, v1, v2 } = built);
    v1Config = JSON.parse(v1.config.bytes.toString()) as ImageConfig;
    const child = async (image: LayoutImage, architecture: string) => ({
      digest: image.digest,
      size: (await readLayoutRef(layout, image.tag)).bytes.length,
      mediaType: MediaType.ociManifest,
      platform: { architecture, os: 'linux' },
    });
    index = await addLayoutIndex(layout, 'multi', [await child(v1, 'amd64'), await child(v2, 'arm64')]);
    env = await berthEnv(join(work, 'berth', 'setup'));
    await each(async (registry) => {
      await pushJson(env, `oci:${layout}:v1`, `docker://${ref(registry, 'team/app:v1')}`);
      await pushJson(env, `oci:${layout}:multi`, `docker://${ref(registry, 'team/multi:1.0')}`, ['--all']);
    });
  });

  // Each test's commands run with caches and credentials of their own.
  let envs = 0;
  beforeEach(async () => {
    env = await berthEnv(join(work, 'berth', `test-${++envs}`));
  });

  after(async () => {
    await Promise.all([server?.close(), distribution?.stop()]);
    for (const fn of cleanups.reverse()) await fn();
  });

  test('tag in the same repository: no blob moves, the new tag has the same manifest', () =>
    each(async (registry) => {
      const report = await tagJson(ref(registry, 'team/app:v1'), ref(registry, 'team/app:stable'));
      assert.equal(report.digest, v1.digest);
      assert.equal(report.uploadedBytes, 0);
      assert.deepEqual(actions(report), ['exists'], JSON.stringify(report.blobs));
      assert.equal((await getManifest(registry, 'team/app', 'stable')).digest, v1.digest);
    }));

  test('tag into another repository: blobs are mounted, not uploaded; the copy is complete', () =>
    each(async (registry) => {
      const report = await tagJson(ref(registry, 'team/app:v1'), ref(registry, 'team/other:v1'));
      assert.equal(report.digest, v1.digest);
      assert.equal(report.uploadedBytes, 0);
      assert.deepEqual(actions(report), ['mounted'], JSON.stringify(report.blobs));
      await verifyWithSkopeo(
        client,
        registry,
        'team/other:v1',
        report,
        { configDigest: v1.config.digest, diffIds: v1.diffIds, manifestDigest: v1.digest },
        work,
      );
      // A whole index too: children and blobs mounted, the index unchanged.
      const multi = await tagJson(ref(registry, 'team/multi:1.0'), ref(registry, 'team/multi-copy:1.0'));
      assert.equal(multi.digest, index.digest);
      assert.equal(multi.uploadedBytes, 0);
      assert.deepEqual(actions(multi), ['mounted'], JSON.stringify(multi.blobs));
      assert.equal((await getManifest(registry, 'team/multi-copy', v2.digest)).status, 200);
    }));

  test('tags lists a repository, as lines and as JSON', () =>
    each(async (registry) => {
      const text = assertOk(await berth(env, ['tags', ref(registry, 'team/app')]));
      assert.deepEqual(text.stdout.split('\n').filter(Boolean).sort(), ['stable', 'v1'], describeRun(text));
      const json = assertOk(await berth(env, ['tags', '--json', `docker://${ref(registry, 'team/app')}`]));
      const parsed = JSON.parse(json.stdout) as { repository: string; tags: string[] };
      assert.equal(parsed.repository, ref(registry, 'team/app'));
      assert.deepEqual([...parsed.tags].sort(), ['stable', 'v1']);
    }));

  test('inspect: text and JSON show digest, platform, labels and layers; --raw prints the manifest bytes', () =>
    each(async (registry) => {
      const json = assertOk(await berth(env, ['inspect', '--json', ref(registry, 'team/app:v1')]));
      const info = JSON.parse(json.stdout) as InspectJson;
      assert.equal(info.digest, v1.digest);
      assert.equal(info.mediaType, MediaType.ociManifest);
      assert.equal(info.os, 'linux');
      assert.equal(info.architecture, 'amd64');
      assert.deepEqual(info.labels, { k: 'v' }, 'the label umoci config --config.label set');
      assert.equal(info.config.digest, v1.config.digest);
      assert.deepEqual(
        info.layers.map((l) => l.digest),
        v1.layers.map((l) => l.digest),
      );
      assert.equal(info.platforms, undefined, 'an image manifest has no platform list');

      const text = assertOk(await berth(env, ['inspect', ref(registry, 'team/app:v1')]));
      assert.match(text.stdout, new RegExp(`^Digest:\\s+${v1.digest}$`, 'm'), describeRun(text));
      assert.match(text.stdout, /^Platform:\s+linux\/amd64$/m, describeRun(text));
      assert.match(text.stdout, /^Labels:\n {2}k=v$/m, describeRun(text));
      for (const layer of v1.layers) assert.ok(text.stdout.includes(layer.digest), describeRun(text));

      const raw = assertOk(await berth(env, ['inspect', '--raw', ref(registry, 'team/app:v1')]));
      assert.equal(sha256(raw.stdout), v1.digest, 'inspect --raw must print the manifest byte for byte');
    }));

  test('inspect of an index lists its platforms and shows the host one, or the one --platform asks for', () =>
    each(async (registry) => {
      const json = assertOk(await berth(env, ['inspect', '--json', ref(registry, 'team/multi:1.0')]));
      const info = JSON.parse(json.stdout) as InspectJson;
      assert.equal(info.digest, index.digest);
      assert.equal(info.mediaType, MediaType.ociIndex);
      assert.deepEqual(info.platforms, ['linux/amd64', 'linux/arm64']);
      if (process.arch === 'x64') assert.equal(info.platformDigest, v1.digest);
      const arm = JSON.parse(
        assertOk(
          await berth(env, [
            'inspect',
            '--json',
            '--platform',
            'linux/arm64',
            ref(registry, 'team/multi:1.0'),
          ]),
        ).stdout,
      ) as InspectJson;
      assert.equal(arm.platformDigest, v2.digest);
      assert.equal(arm.architecture, 'arm64');
      assert.equal(arm.config.digest, v2.config.digest);
      const text = assertOk(await berth(env, ['inspect', ref(registry, 'team/multi:1.0')]));
      assert.match(text.stdout, /^Platforms:\s+linux\/amd64, linux\/arm64$/m, describeRun(text));
      const raw = assertOk(await berth(env, ['inspect', '--raw', ref(registry, 'team/multi:1.0')]));
      assert.equal(sha256(raw.stdout), index.digest);
    }));

  test("history: one row per entry of the config's history, newest first, layers matched to entries", () =>
    each(async (registry) => {
      const history = v1Config.history as { created_by?: string; empty_layer?: boolean }[];
      assert.ok(history && history.length >= 2, `umoci wrote a history: ${v1.config.bytes.toString()}`);
      const json = assertOk(await berth(env, ['history', '--json', ref(registry, 'team/app:v1')]));
      const rows = JSON.parse(json.stdout) as HistoryRow[];
      assert.equal(rows.length, history.length);
      const oldestFirst = [...rows].reverse();
      for (const [i, entry] of history.entries()) {
        assert.equal(oldestFirst[i]?.createdBy, entry.created_by ?? '');
        assert.equal(oldestFirst[i]?.emptyLayer, entry.empty_layer === true);
      }
      assert.deepEqual(
        oldestFirst.filter((r) => !r.emptyLayer).map((r) => r.layer),
        v1.layers.map((l) => l.digest),
      );
      const text = assertOk(await berth(env, ['history', ref(registry, 'team/app:v1')]));
      const lines = text.stdout.split('\n').filter(Boolean);
      assert.match(lines[0] ?? '', /^LAYER\tCREATED\tCREATED BY\tSIZE/);
      assert.equal(lines.length, history.length + 1, describeRun(text));
    }));

  test('rm of a tag on Berth deletes the tag only', async () => {
    const registry = registries[0] as TestRegistry;
    const r = assertOk(await berth(env, ['rm', ref(registry, 'team/app:stable')]));
    assert.match(r.stdout, /Deleted .*team\/app:stable/);
    await assertNotTagged(registry, 'team/app', 'stable');
    assert.equal((await getManifest(registry, 'team/app', 'v1')).digest, v1.digest);
    const tags = assertOk(await berth(env, ['tags', ref(registry, 'team/app')]));
    assert.deepEqual(tags.stdout.split('\n').filter(Boolean), ['v1']);
    // By digest: the manifest and every tag of it.
    assertOk(await berth(env, ['rm', `${ref(registry, 'team/other')}@${v1.digest}`]));
    await assertNotTagged(registry, 'team/other', 'v1');
  });

  // Distribution cannot delete a tag alone: DELETE /v2/<name>/manifests/<tag> answers 400 DIGEST_INVALID
  // ("provided digest did not match uploaded content"), which tells a user nothing about what to do.
  test('rm of a tag on Distribution without --manifest: one clear line saying a tag cannot be deleted alone', async () => {
    const registry = registries[1] as TestRegistry;
    const refused = await berth(env, ['rm', ref(registry, 'team/app:stable')]);
    assert.equal((await getManifest(registry, 'team/app', 'stable')).status, 200, 'nothing was deleted');
    assertOneLineFailure(refused, /team\/app/, /cannot delete a tag alone/, /--manifest/);
  });

  test('rm --manifest of a tag on Distribution deletes the manifest and so every tag of it', async () => {
    const registry = registries[1] as TestRegistry;
    const r = assertOk(await berth(env, ['rm', '--manifest', ref(registry, 'team/app:stable')]));
    assert.match(r.stdout, new RegExp(`Deleted .*team/app@${v1.digest}`), describeRun(r));
    await assertNotTagged(registry, 'team/app', 'stable');
    await assertNotTagged(registry, 'team/app', 'v1');
    assert.equal(
      (await getManifest(registry, 'team/other', 'v1')).status,
      200,
      'other repositories keep theirs',
    );
  });

  test('inspect and history of a local OCI layout, without a registry', async () => {
    const info = JSON.parse(
      assertOk(await berth(env, ['inspect', '--json', `oci:${layout}:v1`])).stdout,
    ) as InspectJson;
    assert.equal(info.digest, v1.digest);
    assert.deepEqual(info.labels, { k: 'v' });
    const raw = assertOk(await berth(env, ['inspect', '--raw', `oci:${layout}:v1`]));
    assert.equal(raw.stdout, (await readFile(blobPath(layout, v1.digest))).toString());
    const rows = JSON.parse(
      assertOk(await berth(env, ['history', '--json', `oci:${layout}:v1`])).stdout,
    ) as HistoryRow[];
    assert.equal(rows.length, v1Config.history?.length);
  });
});

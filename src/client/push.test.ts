import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Blob, makeImage, makeIndex, type TestImage } from '../../test/support/images.js';
import { parseImageLocation } from './image-location.js';
import { parsePlatform } from './platform.js';
import { platformsToCheck, tagsToPush } from './push.js';
import { openOciLayout } from './sources/oci-layout-source.js';

test('the tags a push sets: the destination own tag, then the extra ones, each once', () => {
  const cases: { to: string; destinationTags: string[]; extra: string[]; want: string[] }[] = [
    { to: 'docker://r.example/team/app:v1', destinationTags: ['v1'], extra: [], want: ['v1'] },
    { to: 'docker://r.example/team/app:v1', destinationTags: ['v1'], extra: ['1', 'v1'], want: ['v1', '1'] },
    // No tag in the destination means latest, unless the import file lists tags: then only those.
    { to: 'docker://r.example/team/app', destinationTags: ['latest'], extra: [], want: ['latest'] },
    { to: 'docker://r.example/team/app', destinationTags: ['latest'], extra: ['a', 'b'], want: ['a', 'b'] },
    { to: 'oci:/tmp/layout', destinationTags: [], extra: ['a'], want: ['a'] },
    { to: 'oci:/tmp/layout:v2', destinationTags: ['v2'], extra: ['v2'], want: ['v2'] },
  ];
  for (const c of cases)
    assert.deepEqual(
      tagsToPush(parseImageLocation(c.to), c.destinationTags, c.extra),
      c.want,
      JSON.stringify(c),
    );
});

async function writeLayout(dir: string, top: Blob & { mediaType: string }, blobs: Blob[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const blob of [top, ...blobs])
    await writeFile(join(dir, 'blobs', 'sha256', blob.digest.slice('sha256:'.length)), blob.bytes);
  const ref = { 'org.opencontainers.image.ref.name': 'v1' };
  const entry = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length, annotations: ref };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

function imageBlobs(image: TestImage): Blob[] {
  return [image.manifest, image.config, ...image.layers];
}

test('the platforms a policy checks before a push: every one of an index with --all, else the chosen one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-push-platforms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const amd = makeImage({ layers: [64], arch: 'amd64' });
  const arm = makeImage({ layers: [64], arch: 'arm64' });
  const multi = join(dir, 'multi');
  await writeLayout(
    multi,
    makeIndex([
      { image: amd, arch: 'amd64' },
      { image: arm, arch: 'arm64' },
    ]),
    [...imageBlobs(amd), ...imageBlobs(arm)],
  );
  const single = join(dir, 'single');
  await writeLayout(single, { ...amd.manifest, mediaType: amd.mediaType }, imageBlobs(amd));

  const cases: { layout: string; all: boolean; platform?: string; want: (string | undefined)[] }[] = [
    { layout: multi, all: true, want: ['linux/amd64', 'linux/arm64'] },
    { layout: multi, all: false, platform: 'linux/arm64', want: ['linux/arm64'] },
    // No platform named: the gate picks this machine's, as the copy does.
    { layout: multi, all: false, want: [undefined] },
    { layout: single, all: true, want: [undefined] },
    { layout: single, all: true, platform: 'linux/amd64', want: ['linux/amd64'] },
  ];
  for (const c of cases) {
    const source = await openOciLayout(c.layout, 'v1');
    try {
      const settings = { all: c.all, platform: c.platform ? parsePlatform(c.platform) : undefined };
      assert.deepEqual(await platformsToCheck(source, settings), c.want, JSON.stringify(c));
    } finally {
      await source.close();
    }
  }
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Digest, digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import {
  type BlobFacts,
  type CopyPlan,
  type CopyPlanInput,
  type DestinationBlob,
  imageManifestToPush,
  indexToPush,
  nextBlobStep,
  type PlannedBlob,
  planCopy,
} from './copy-plan.js';
import type { CompressionChoice } from './prepared-blob.js';
import type { ManifestBlob } from './sources/image-source.js';

// Every digest in these tests has a name, so that plans and steps read as words in the tables.
const names = new Map<string, string>();
const nameOf = (digest: string): string => names.get(digest) ?? digest;

function blob(name: string, mediaType: string = MediaType.ociLayerGzip): Descriptor {
  const bytes = Buffer.from(`blob ${name}`);
  const digest = digestOf(bytes);
  names.set(digest, name);
  return { mediaType, digest, size: bytes.length };
}

function manifestBlob(name: string, json: Record<string, unknown>, mediaType: string): ManifestBlob {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, ...json }));
  const digest = digestOf(bytes);
  names.set(digest, name);
  return { bytes, mediaType, digest };
}

function image(
  name: string,
  config: Descriptor,
  layers: Descriptor[],
  mediaType: string = MediaType.ociManifest,
) {
  return manifestBlob(name, { config, layers }, mediaType);
}

function index(
  name: string,
  entries: { manifest: ManifestBlob; platform?: string }[],
  mediaType: string = MediaType.ociIndex,
): ManifestBlob {
  const manifests = entries.map(({ manifest, platform }) => {
    const [os, architecture, variant] = (platform ?? '').split('/');
    return {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
      ...(platform ? { platform: { os, architecture, ...(variant ? { variant } : {}) } } : {}),
    };
  });
  return manifestBlob(name, { manifests }, mediaType);
}

const base = blob('base');
const amdApp = blob('amd-app');
const armApp = blob('arm-app');
const amd = image('amd64', blob('amd-config', MediaType.ociConfig), [base, amdApp]);
const arm = image('arm64', blob('arm-config', MediaType.ociConfig), [base, armApp]);
const armV7 = image('arm-v7', blob('v7-config', MediaType.ociConfig), [blob('v7-layer')]);
const armV6 = image('arm-v6', blob('v6-config', MediaType.ociConfig), [blob('v6-layer')]);
const single = image('single', blob('single-config', MediaType.ociConfig), [base, blob('app')]);
const twice = image('twice', blob('twice-config', MediaType.ociConfig), [base, blob('same'), blob('same')]);
const multi = index('multi', [
  { manifest: amd, platform: 'linux/amd64' },
  { manifest: arm, platform: 'linux/arm64' },
]);
const arms = index('arms', [
  { manifest: armV6, platform: 'linux/arm/v6' },
  { manifest: armV7, platform: 'linux/arm/v7' },
]);
const empty = index('empty', []);
const nested = index('nested', [{ manifest: multi, platform: 'linux/amd64' }]);
const repeated = index('repeated', [
  { manifest: amd, platform: 'linux/amd64' },
  { manifest: amd, platform: 'linux/amd64' },
]);

function fetched(...manifests: ManifestBlob[]): Map<string, ManifestBlob> {
  return new Map(manifests.map((m) => [m.digest, m]));
}

function plan(input: Partial<CopyPlanInput> & Pick<CopyPlanInput, 'top'>): CopyPlan {
  return planCopy({
    all: false,
    platform: { os: 'linux', architecture: 'amd64' },
    description: 'test-source',
    children: new Map(),
    tags: ['v1'],
    compression: 'auto',
    compressedEarlier: () => undefined,
    ...input,
  });
}

/** A plan in words: blobs as `kind name`, manifests as `image name @reference [platform]` or `index name @reference <- children`. */
function summary(copy: CopyPlan) {
  return {
    blobs: copy.blobs.map((b) => `${b.kind} ${nameOf(b.descriptor.digest)}`),
    manifests: copy.manifests.map((m) =>
      m.type === 'image'
        ? `image ${nameOf(m.manifest.digest)} @${m.tag ?? 'digest'}${m.platform ? ` ${m.platform}` : ''} needs ${m.blobs.map(nameOf).join(',')}`
        : `index ${nameOf(m.manifest.digest)} @${m.tag ?? 'digest'} <- ${m.children.map(nameOf).join(',')}`,
    ),
    moreTags: copy.moreTags,
  };
}

describe('planCopy: which manifests, in which order, under which tags, and each blob once', () => {
  const cases: {
    name: string;
    input: Partial<CopyPlanInput> & Pick<CopyPlanInput, 'top'>;
    expected: ReturnType<typeof summary>;
  }[] = [
    {
      name: 'a single image: config and layers, then the manifest under the tag',
      input: { top: single },
      expected: {
        blobs: ['config single-config', 'layer base', 'layer app'],
        manifests: ['image single @v1 needs single-config,base,app'],
        moreTags: [],
      },
    },
    {
      name: 'more tags follow the first, each pushed after the result',
      input: { top: single, tags: ['v1', 'latest', 'stable'] },
      expected: {
        blobs: ['config single-config', 'layer base', 'layer app'],
        manifests: ['image single @v1 needs single-config,base,app'],
        moreTags: ['latest', 'stable'],
      },
    },
    {
      name: 'no tag: the image is pushed by its digest',
      input: { top: single, tags: [] },
      expected: {
        blobs: ['config single-config', 'layer base', 'layer app'],
        manifests: ['image single @digest needs single-config,base,app'],
        moreTags: [],
      },
    },
    {
      name: 'a layer twice in one image: one blob, the manifest still lists it twice',
      input: { top: twice },
      expected: {
        blobs: ['config twice-config', 'layer base', 'layer same'],
        manifests: ['image twice @v1 needs twice-config,base,same,same'],
        moreTags: [],
      },
    },
    {
      name: '--all: every platform by digest, a layer they share once, then the index under the tag',
      input: { top: multi, all: true, children: fetched(amd, arm), tags: ['v1', 'latest'] },
      expected: {
        blobs: ['config amd-config', 'layer base', 'layer amd-app', 'config arm-config', 'layer arm-app'],
        manifests: [
          'image amd64 @digest linux/amd64 needs amd-config,base,amd-app',
          'image arm64 @digest linux/arm64 needs arm-config,base,arm-app',
          'index multi @v1 <- amd64,arm64',
        ],
        moreTags: ['latest'],
      },
    },
    {
      name: 'a platform out of an index: that image alone, under the tag, with its platform',
      input: { top: multi, platform: { os: 'linux', architecture: 'arm64' }, children: fetched(arm) },
      expected: {
        blobs: ['config arm-config', 'layer base', 'layer arm-app'],
        manifests: ['image arm64 @v1 linux/arm64 needs arm-config,base,arm-app'],
        moreTags: [],
      },
    },
    {
      name: 'a platform with a variant picks that variant',
      input: {
        top: arms,
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        children: fetched(armV7),
      },
      expected: {
        blobs: ['config v7-config', 'layer v7-layer'],
        manifests: ['image arm-v7 @v1 linux/arm/v7 needs v7-config,v7-layer'],
        moreTags: [],
      },
    },
    {
      name: 'an empty index with --all: only the index',
      input: { top: empty, all: true },
      expected: { blobs: [], manifests: ['index empty @v1 <- '], moreTags: [] },
    },
    {
      name: 'an index that lists one image twice: the image is pushed once, the index keeps both entries',
      input: { top: repeated, all: true, children: fetched(amd) },
      expected: {
        blobs: ['config amd-config', 'layer base', 'layer amd-app'],
        manifests: [
          'image amd64 @digest linux/amd64 needs amd-config,base,amd-app',
          'index repeated @v1 <- amd64,amd64',
        ],
        moreTags: [],
      },
    },
  ];
  for (const { name, input, expected } of cases) {
    test(name, () => assert.deepEqual(summary(plan(input)), expected));
  }

  const refusals: {
    name: string;
    input: Partial<CopyPlanInput> & Pick<CopyPlanInput, 'top'>;
    code: string;
  }[] = [
    {
      name: 'an empty index without --all has no image for this platform',
      input: { top: empty },
      code: 'PLATFORM_NOT_FOUND',
    },
    {
      name: 'a platform the index does not hold',
      input: { top: multi, platform: { os: 'linux', architecture: 's390x' } },
      code: 'PLATFORM_NOT_FOUND',
    },
    {
      name: 'an index inside an index',
      input: { top: nested, all: true, children: fetched(multi) },
      code: 'UNSUPPORTED_IMAGE',
    },
  ];
  for (const { name, input, code } of refusals) {
    test(`refused: ${name}`, () =>
      assert.throws(
        () => plan(input),
        (error: unknown) => error instanceof BerthError && error.code === code,
      ));
  }

  test('a child the caller did not fetch is a programming error, not a partial plan', () => {
    assert.throws(() => plan({ top: multi, all: true, children: fetched(amd) }), /was not fetched/);
  });
});

describe("planCopy: what the destination may already hold in a blob's place", () => {
  const tar = blob('tar-layer', 'application/vnd.docker.image.rootfs.diff.tar');
  const gz = { digest: blob('tar-layer.gz').digest, size: 42 };
  const withLayer = (layer: Descriptor) =>
    image(
      `image of ${nameOf(layer.digest)}`,
      blob('c', MediaType.dockerConfig),
      [layer],
      MediaType.dockerManifest,
    );
  const cases: {
    name: string;
    layer: Descriptor;
    compression: CompressionChoice;
    earlier?: { digest: Digest; size: number };
    compress: boolean;
    candidates: string[];
  }[] = [
    {
      name: 'a compressed layer is sent as it is',
      layer: base,
      compression: 'auto',
      compress: false,
      candidates: ['base'],
    },
    {
      name: 'none: a tar layer as it is',
      layer: tar,
      compression: 'none',
      compress: false,
      candidates: ['tar-layer'],
      earlier: gz,
    },
    {
      name: 'gzip, never compressed before: nothing to ask',
      layer: tar,
      compression: 'gzip',
      compress: true,
      candidates: [],
    },
    {
      name: 'gzip, compressed on an earlier run: that blob',
      layer: tar,
      compression: 'gzip',
      compress: true,
      candidates: ['tar-layer.gz'],
      earlier: gz,
    },
    {
      name: 'auto: the earlier compressed blob, then the layer itself',
      layer: tar,
      compression: 'auto',
      compress: true,
      candidates: ['tar-layer.gz', 'tar-layer'],
      earlier: gz,
    },
    {
      name: 'auto, never compressed before: the layer itself',
      layer: tar,
      compression: 'auto',
      compress: true,
      candidates: ['tar-layer'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const copy = plan({
        top: withLayer(c.layer),
        compression: c.compression,
        compressedEarlier: (diffId) => (diffId === c.layer.digest ? c.earlier : undefined),
      });
      const [config, layer] = copy.blobs;
      assert.deepEqual(
        { kind: config?.kind, compress: config?.compress, candidates: config?.candidates.length },
        { kind: 'config', compress: false, candidates: 1 },
        'a config is never compressed',
      );
      assert.equal(layer?.compress, c.compress);
      assert.deepEqual(
        layer?.candidates.map((d) => nameOf(d.digest)),
        c.candidates,
      );
    });
  }

  test('the earlier compressed blob is a gzip layer that rewrites the manifest entry', () => {
    const copy = plan({ top: withLayer(tar), compression: 'gzip', compressedEarlier: () => gz });
    assert.deepEqual(copy.blobs[1]?.candidates, [
      { ...gz, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', rewritten: true },
    ]);
  });

  test('zstd: the earlier zstd blob (asked of the cache as zstd) is an OCI zstd layer; the tar is never sent', () => {
    const asked: string[] = [];
    const copy = plan({
      top: withLayer(tar),
      compression: 'zstd',
      compressedEarlier: (diffId) => {
        asked.push(diffId);
        return gz;
      },
    });
    assert.deepEqual(asked, [tar.digest]);
    assert.equal(copy.blobs[1]?.compress, true);
    assert.deepEqual(copy.blobs[1]?.candidates, [
      { ...gz, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', rewritten: true },
    ]);
  });
});

/** What the destination knows in a trace: blobs it holds, repositories that would lend a blob, and so on. */
interface World {
  holds: Digest[];
  /** What preparing makes of the blob. */
  prepared: DestinationBlob;
  mountSources: string[];
  /** Repositories whose mount succeeds. */
  lends: string[];
  /** Bytes the upload sends (less than the size when it resumes). */
  sends?: number;
}

/** Runs the steps against a pretend destination and writes down each one, ending with the outcome. */
function trace(planned: PlannedBlob, world: World): string[] {
  const present = new Map<Digest, boolean>();
  const facts: BlobFacts & { present: Map<Digest, boolean> } = { present, mountsRefused: 0 };
  const steps: string[] = [];
  for (let i = 0; i < 20; i++) {
    const step = nextBlobStep(planned, facts);
    switch (step.step) {
      case 'check':
        steps.push(`check ${nameOf(step.digest)}`);
        present.set(step.digest, world.holds.includes(step.digest));
        break;
      case 'prepare':
        steps.push('prepare');
        facts.prepared = { blob: world.prepared, mountSources: world.mountSources };
        break;
      case 'mount':
        steps.push(`mount ${nameOf(step.digest)} from ${step.from}`);
        if (world.lends.includes(step.from)) facts.mountedFrom = step.from;
        else facts.mountsRefused += 1;
        break;
      case 'upload':
        steps.push(`upload ${nameOf(step.digest)}`);
        facts.sent = world.sends ?? world.prepared.size;
        break;
      case 'done':
        steps.push(
          `${step.action} ${nameOf(step.blob.digest)}${step.from ? ` from ${step.from}` : ''}${step.sent !== undefined ? ` sent ${step.sent}` : ''}`,
        );
        return steps;
    }
  }
  throw new Error(`no outcome after 20 steps: ${steps.join(' → ')}`);
}

describe('nextBlobStep: exists, mount or upload, from what the destination says', () => {
  const layer = blob('layer', 'application/vnd.oci.image.layer.v1.tar');
  const asIs: DestinationBlob = {
    digest: layer.digest,
    size: layer.size,
    mediaType: layer.mediaType,
    rewritten: false,
  };
  const gz: DestinationBlob = {
    digest: blob('layer.gz').digest,
    size: 7,
    mediaType: MediaType.ociLayerGzip,
    rewritten: true,
  };
  const asItIs: PlannedBlob = { descriptor: layer, kind: 'layer', compress: false, candidates: [asIs] };
  const compressed: PlannedBlob = { descriptor: layer, kind: 'layer', compress: true, candidates: [] };
  const compressedBefore: PlannedBlob = {
    descriptor: layer,
    kind: 'layer',
    compress: true,
    candidates: [gz, asIs],
  };
  const nothing = { holds: [], mountSources: [], lends: [] };

  const cases: { name: string; planned: PlannedBlob; world: World; steps: string[] }[] = [
    {
      name: 'the destination holds it: exists, nothing prepared',
      planned: asItIs,
      world: { ...nothing, holds: [layer.digest], prepared: asIs },
      steps: ['check layer', 'exists layer'],
    },
    {
      name: 'nowhere, no mount source: upload',
      planned: asItIs,
      world: { ...nothing, prepared: asIs },
      steps: ['check layer', 'prepare', `upload layer`, `uploaded layer sent ${layer.size}`],
    },
    {
      name: 'a resumed upload: sent counts only what this run sent',
      planned: asItIs,
      world: { ...nothing, prepared: asIs, sends: 0 },
      steps: ['check layer', 'prepare', 'upload layer', 'uploaded layer sent 0'],
    },
    {
      name: 'known in another repository (blob-info cache): mount from it',
      planned: asItIs,
      world: { ...nothing, prepared: asIs, mountSources: ['team/base'], lends: ['team/base'] },
      steps: ['check layer', 'prepare', 'mount layer from team/base', 'mounted layer from team/base'],
    },
    {
      name: 'a refused mount: the next source, then the upload',
      planned: asItIs,
      world: { ...nothing, prepared: asIs, mountSources: ['gone/a', 'team/b'], lends: ['team/b'] },
      steps: [
        'check layer',
        'prepare',
        'mount layer from gone/a',
        'mount layer from team/b',
        'mounted layer from team/b',
      ],
    },
    {
      name: 'at most three mounts, then the upload',
      planned: asItIs,
      world: { ...nothing, prepared: asIs, mountSources: ['a/1', 'a/2', 'a/3', 'a/4'], lends: ['a/4'] },
      steps: [
        'check layer',
        'prepare',
        'mount layer from a/1',
        'mount layer from a/2',
        'mount layer from a/3',
        'upload layer',
        `uploaded layer sent ${layer.size}`,
      ],
    },
    {
      name: 'compressed on an earlier run and pushed: exists under the compressed digest, nothing compressed',
      planned: compressedBefore,
      world: { ...nothing, holds: [gz.digest], prepared: gz },
      steps: ['check layer.gz', 'exists layer.gz'],
    },
    {
      name: 'compressed on an earlier run, the original is there (auto): exists as it is',
      planned: compressedBefore,
      world: { ...nothing, holds: [layer.digest], prepared: gz },
      steps: ['check layer.gz', 'check layer', 'exists layer'],
    },
    {
      name: 'compressed now: its new digest is asked about once it is known',
      planned: compressed,
      world: { ...nothing, holds: [gz.digest], prepared: gz },
      steps: ['prepare', 'check layer.gz', 'exists layer.gz'],
    },
    {
      name: 'compressed again to a digest already asked about: not asked twice, uploaded',
      planned: compressedBefore,
      world: { ...nothing, prepared: gz },
      steps: ['check layer.gz', 'check layer', 'prepare', 'upload layer.gz', 'uploaded layer.gz sent 7'],
    },
    {
      name: 'compressed now and mountable: the compressed blob is mounted',
      planned: compressed,
      world: { ...nothing, prepared: gz, mountSources: ['team/base'], lends: ['team/base'] },
      steps: [
        'prepare',
        'check layer.gz',
        'mount layer.gz from team/base',
        'mounted layer.gz from team/base',
      ],
    },
    {
      name: 'auto found it does not compress: the original, already asked about, is uploaded',
      planned: { ...compressed, candidates: [asIs] },
      world: { ...nothing, prepared: asIs },
      steps: ['check layer', 'prepare', 'upload layer', `uploaded layer sent ${layer.size}`],
    },
  ];
  for (const { name, planned, world, steps } of cases) {
    test(name, () => assert.deepEqual(trace(planned, world), steps));
  }
});

describe('the manifests to push', () => {
  const tar = blob('tar', 'application/vnd.docker.image.rootfs.diff.tar');
  const kept = blob('kept', MediaType.dockerLayerGzip);
  const docker = image(
    'docker',
    blob('docker-config', MediaType.dockerConfig),
    [tar, kept],
    MediaType.dockerManifest,
  );
  const same = (d: Descriptor): DestinationBlob => ({ ...d, rewritten: false });
  const gz: DestinationBlob = {
    digest: blob('tar.gz').digest,
    size: 99,
    mediaType: MediaType.dockerLayerGzip,
    rewritten: true,
  };
  const layersOf = (m: ManifestBlob) =>
    (JSON.parse(m.bytes.toString('utf8')) as { layers: Descriptor[] }).layers.map((l) => ({
      digest: nameOf(l.digest),
      size: l.size,
      mediaType: l.mediaType,
    }));

  test('nothing rewritten, no format: the source bytes as they are', () => {
    assert.equal(imageManifestToPush(docker, [same(tar), same(kept)], undefined), docker);
    assert.equal(imageManifestToPush(docker, [same(tar), same(kept)], 'v2s2'), docker, 'already that format');
  });

  test('a compressed layer takes its new digest, size and type; the others stay', () => {
    const pushed = imageManifestToPush(docker, [gz, same(kept)], undefined);
    assert.notEqual(pushed.digest, docker.digest);
    assert.equal(pushed.digest, digestOf(pushed.bytes), 'the digest is of the bytes pushed');
    assert.equal(pushed.mediaType, MediaType.dockerManifest);
    assert.deepEqual(layersOf(pushed), [
      { digest: 'tar.gz', size: 99, mediaType: MediaType.dockerLayerGzip },
      { digest: 'kept', size: kept.size, mediaType: MediaType.dockerLayerGzip },
    ]);
  });

  test('--format oci converts the manifest and its layers', () => {
    const pushed = imageManifestToPush(docker, [gz, same(kept)], 'oci');
    assert.equal(pushed.mediaType, MediaType.ociManifest);
    assert.deepEqual(
      layersOf(pushed).map((l) => l.mediaType),
      [MediaType.ociLayerGzip, MediaType.ociLayerGzip],
    );
  });

  test('a zstd layer in a Docker manifest converted to OCI keeps its zstd type', () => {
    const zst: DestinationBlob = { ...gz, digest: blob('tar.zst').digest, mediaType: MediaType.ociLayerZstd };
    const pushed = imageManifestToPush(docker, [zst, same(kept)], 'oci');
    assert.equal(pushed.mediaType, MediaType.ociManifest);
    assert.deepEqual(
      layersOf(pushed).map((l) => l.mediaType),
      [MediaType.ociLayerZstd, MediaType.ociLayerGzip],
    );
  });

  test('an index whose children were pushed unchanged is pushed as it is', () => {
    assert.equal(indexToPush(multi, fetched(amd, arm), undefined), multi);
  });

  test('an index names the children as pushed when one changed', () => {
    const rewritten = imageManifestToPush(docker, [gz, same(kept)], undefined);
    const pushed = indexToPush(
      multi,
      new Map([
        [amd.digest, rewritten],
        [arm.digest, arm],
      ]),
      undefined,
    );
    const entries = (JSON.parse(pushed.bytes.toString('utf8')) as { manifests: Descriptor[] }).manifests;
    assert.deepEqual(
      entries.map((e) => [
        nameOf(e.digest) === e.digest ? 'rewritten' : nameOf(e.digest),
        e.size,
        e.platform?.architecture,
      ]),
      [
        ['rewritten', rewritten.bytes.length, 'amd64'],
        ['arm64', arm.bytes.length, 'arm64'],
      ],
    );
    assert.equal(entries[0]?.digest, rewritten.digest);
    assert.equal(pushed.digest, digestOf(pushed.bytes));
  });

  test('--format v2s2 converts an OCI index to a Docker manifest list naming the converted children', () => {
    const amdDocker = imageManifestToPush(amd, [same(base), same(amdApp)], 'v2s2');
    const armDocker = imageManifestToPush(arm, [same(base), same(armApp)], 'v2s2');
    const pushed = indexToPush(
      multi,
      new Map([
        [amd.digest, amdDocker],
        [arm.digest, armDocker],
      ]),
      'v2s2',
    );
    assert.equal(pushed.mediaType, MediaType.dockerManifestList);
    const entries = (JSON.parse(pushed.bytes.toString('utf8')) as { manifests: Descriptor[] }).manifests;
    assert.deepEqual(
      entries.map((e) => [e.digest, e.mediaType]),
      [
        [amdDocker.digest, MediaType.dockerManifest],
        [armDocker.digest, MediaType.dockerManifest],
      ],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, EMPTY_JSON_DIGEST, parseDigest } from './digest.js';
import { BerthError, berthErrorCodeOf, RegistryError } from './errors.js';
import { parseManifest } from './manifest.js';
import { MediaType } from './media-types.js';
import { parseRepoName, parseTag } from './names.js';
import { isLoopbackHost } from './reference.js';
import { parseV2Path } from './v2-path.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${error}`);
    return error.code;
  }
  return undefined;
}

const SHA = `sha256:${'a'.repeat(64)}`;

describe('digests', () => {
  test('accepts sha256 and sha512', () => {
    assert.equal(parseDigest(SHA), SHA);
    assert.equal(parseDigest(`sha512:${'b'.repeat(128)}`), `sha512:${'b'.repeat(128)}`);
  });
  test('refuses other algorithms, bad lengths, upper case and garbage', () => {
    for (const bad of [
      `md5:${'a'.repeat(32)}`,
      `sha384:${'a'.repeat(96)}`,
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'A'.repeat(64)}`,
      'sha256:',
      'latest',
      '',
    ]) {
      assert.equal(
        code(() => parseDigest(bad)),
        'DIGEST_INVALID',
        bad,
      );
    }
  });
  test('empty JSON digest is the digest of {}', () => {
    assert.equal(
      EMPTY_JSON_DIGEST,
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });
});

describe('names and tags', () => {
  test('accepts names of the spec grammar', () => {
    for (const ok of [
      'a',
      'team/app',
      'a.b/c_d/e__f/g-h',
      'x--y',
      'ai-platform/tensorflow-gpu',
      'a/b/c/d/e',
    ]) {
      assert.equal(parseRepoName(ok), ok);
    }
  });
  test('refuses uppercase, dots, traversal and empty components', () => {
    for (const bad of [
      'Team/app',
      '../etc',
      'a/../b',
      'a//b',
      '/a',
      'a/',
      '-a',
      'a_',
      'a___b',
      '.',
      '',
      'a'.repeat(256),
    ]) {
      assert.equal(
        code(() => parseRepoName(bad)),
        'NAME_INVALID',
        bad,
      );
    }
  });
  test('tags', () => {
    assert.equal(parseTag('v1.2.3-rc_1'), 'v1.2.3-rc_1');
    assert.equal(parseTag('_x'), '_x');
    for (const bad of ['.x', '-x', 'a'.repeat(129), 'a/b', 'a:b', '']) {
      assert.equal(
        code(() => parseTag(bad)),
        'TAG_INVALID',
        bad,
      );
    }
    assert.equal(parseTag('a'.repeat(128)).length, 128);
  });
});

describe('v2 paths', () => {
  test('routes by the end of the path so names may contain route words', () => {
    assert.deepEqual(parseV2Path('/v2/'), { kind: 'base' });
    assert.deepEqual(parseV2Path('/v2'), { kind: 'base' });
    assert.deepEqual(parseV2Path('/v2/_catalog'), { kind: 'catalog' });
    assert.deepEqual(parseV2Path('/v2/a/manifests/b/manifests/latest'), {
      kind: 'manifest',
      name: 'a/manifests/b',
      reference: 'latest',
    });
    assert.deepEqual(parseV2Path('/v2/team/app/blobs/uploads/'), { kind: 'upload-start', name: 'team/app' });
    assert.deepEqual(parseV2Path('/v2/team/app/blobs/uploads'), { kind: 'upload-start', name: 'team/app' });
    assert.deepEqual(parseV2Path('/v2/team/app/blobs/uploads/abc'), {
      kind: 'upload',
      name: 'team/app',
      id: 'abc',
    });
    assert.deepEqual(parseV2Path(`/v2/blobs/uploads/blobs/${SHA}`), {
      kind: 'blob',
      name: 'blobs/uploads',
      digest: SHA,
    });
    assert.deepEqual(parseV2Path('/v2/x/tags/list'), { kind: 'tags', name: 'x' });
    assert.deepEqual(parseV2Path(`/v2/x/referrers/${SHA}`), { kind: 'referrers', name: 'x', digest: SHA });
    assert.equal(parseV2Path('/v3/x'), undefined);
    assert.equal(parseV2Path('/v2/x/unknown/y'), undefined);
  });
});

describe('manifest parsing', () => {
  const config = { mediaType: MediaType.ociConfig, digest: SHA, size: 2 };
  const layer = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${'b'.repeat(64)}`, size: 10 };
  const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  test('media type from the field, else from Content-Type', () => {
    const withField = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
      undefined,
    );
    assert.equal(withField.mediaType, MediaType.ociManifest);
    assert.deepEqual(withField.blobs, [config.digest, layer.digest]);
    const withoutField = parseManifest(
      bytes({ schemaVersion: 2, config, layers: [] }),
      `${MediaType.dockerManifest}; charset=utf-8`,
    );
    assert.equal(withoutField.mediaType, MediaType.dockerManifest);
  });
  test('index children and artifact type of referrers', () => {
    const child = { mediaType: MediaType.ociManifest, digest: SHA, size: 5 };
    const index = parseManifest(bytes({ schemaVersion: 2, manifests: [child, child] }), MediaType.ociIndex);
    assert.deepEqual(index.manifests, [SHA]);
    const artifact = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'application/vnd.example.sbom',
        config: { mediaType: MediaType.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2 },
        layers: [],
        subject: { mediaType: MediaType.ociManifest, digest: SHA, size: 5 },
      }),
      undefined,
    );
    assert.equal(artifact.referrerArtifactType, 'application/vnd.example.sbom');
    assert.equal(artifact.subject?.digest, SHA);
    const signature = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { ...config, mediaType: 'application/x.sig' },
        layers: [],
      }),
      undefined,
    );
    assert.equal(signature.referrerArtifactType, 'application/x.sig');
  });
  test('foreign layers with urls are not required blobs', () => {
    const foreign = {
      mediaType: MediaType.dockerForeignLayerGzip,
      digest: `sha256:${'c'.repeat(64)}`,
      size: 1,
      urls: ['https://example.invalid/l'],
    };
    const m = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers: [foreign] }),
      undefined,
    );
    assert.deepEqual(m.blobs, [config.digest]);
  });
  test('refuses what is not a manifest', () => {
    for (const [body, type] of [
      ['not json', MediaType.ociManifest],
      ['[]', MediaType.ociManifest],
      [JSON.stringify({ schemaVersion: 1, config, layers: [] }), MediaType.ociManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }), undefined],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { ...config, digest: 'md5:x' },
          layers: [],
        }),
        undefined,
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [] }),
        MediaType.dockerManifest,
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-unknown', config, layers: [] }),
        undefined,
      ],
      [JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }), MediaType.dockerSchema1Signed],
    ] as [string, string | undefined][]) {
      assert.equal(
        code(() => parseManifest(Buffer.from(body), type)),
        'MANIFEST_INVALID',
        body,
      );
    }
  });
  test('digest of bytes as received', () => {
    const raw = Buffer.from('{ "schemaVersion": 2 }');
    assert.equal(digestOf(raw), digestOf(Buffer.from(raw)));
    assert.notEqual(digestOf(raw), digestOf(Buffer.from(JSON.stringify(JSON.parse(raw.toString())))));
  });
});

describe('loopback hosts', () => {
  test('localhost, 127.x.x.x and ::1 are loopback, with or without a port or brackets', () => {
    for (const host of [
      'localhost',
      'localhost:5000',
      '127.0.0.1',
      '127.1.2.3:80',
      '::1',
      '[::1]',
      '[::1]:5000',
    ])
      assert.ok(isLoopbackHost(host), host);
  });

  test('other hosts are not', () => {
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1:5000',
      'registry.example',
      '[::2]:5000',
      '128.0.0.1',
      'localhost.evil',
    ])
      assert.ok(!isLoopbackHost(host), host);
  });
});

describe('Berth error codes', () => {
  test('BerthError takes only a code of the table', () => {
    // @ts-expect-error a misspelt code does not typecheck
    const misspelt = new BerthError('USEAGE', 'oops');
    assert.equal(misspelt.code, 'USEAGE');
    assert.equal(new BerthError('USAGE', 'bad flag').code, 'USAGE');
  });

  test('a code received as text is kept only when the table has it', () => {
    assert.equal(berthErrorCodeOf('CONFLICT'), 'CONFLICT');
    assert.equal(berthErrorCodeOf('HTTP_502'), undefined);
    assert.equal(berthErrorCodeOf('toString'), undefined);
    assert.equal(berthErrorCodeOf(undefined), undefined);
  });
});

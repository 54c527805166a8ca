import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { EMPTY_JSON_DIGEST } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { blobOf, makeImage, makeIndex } from '../support/images.js';
import { errorCode, TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let client: TestClient;

const scope = fileScope();

before(async () => {
  server = await startTestServer({ data: await tempDir(scope) });
  client = new TestClient(server.url);
});
after(() => server.close());

describe('image manifests', () => {
  test('push and pull an OCI image by tag and digest, headers right on GET and HEAD', async () => {
    const image = makeImage();
    await client.pushImage('img/app', 'v1', image);
    for (const ref of ['v1', image.manifest.digest]) {
      const get = await client.request('GET', `/v2/img/app/manifests/${ref}`, {
        headers: { Accept: image.mediaType },
      });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), MediaType.ociManifest);
      assert.equal(get.headers.get('docker-content-digest'), image.manifest.digest);
      assert.equal(get.headers.get('content-length'), String(image.manifest.bytes.length));
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), image.manifest.bytes);
      const head = await client.request('HEAD', `/v2/img/app/manifests/${ref}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(image.manifest.bytes.length));
      assert.equal(head.headers.get('docker-content-digest'), image.manifest.digest);
    }
  });

  test('the PUT answers 201 with Location and digest; bytes are kept exactly as sent', async () => {
    const image = makeImage({ docker: true });
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('exact/app', blob);
    const pretty = blobOf(`${JSON.stringify(JSON.parse(image.manifest.bytes.toString()), null, 7)}\n\n`);
    const res = await client.pushManifest('exact/app', 'pretty', pretty, MediaType.dockerManifest);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('docker-content-digest'), pretty.digest);
    assert.equal(res.headers.get('location'), `/v2/exact/app/manifests/${pretty.digest}`);
    const get = await client.request('GET', '/v2/exact/app/manifests/pretty');
    assert.equal(get.headers.get('content-type'), MediaType.dockerManifest);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), pretty.bytes);
  });

  test('without a mediaType field the type comes from Content-Type (umoci, podman)', async () => {
    const image = makeImage();
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('notype/app', blob);
    const parsed = JSON.parse(image.manifest.bytes.toString());
    delete parsed.mediaType;
    const manifest = blobOf(JSON.stringify(parsed));
    const res = await client.pushManifest('notype/app', 'v1', manifest, MediaType.ociManifest);
    assert.equal(res.status, 201);
    const get = await client.request('GET', '/v2/notype/app/manifests/v1');
    assert.equal(get.headers.get('content-type'), MediaType.ociManifest);
  });

  test('content negotiation: a client that lists other types only gets 404', async () => {
    const image = makeImage();
    await client.pushImage('neg/app', 'v1', image);
    let res = await client.request('GET', '/v2/neg/app/manifests/v1', {
      headers: { Accept: MediaType.dockerManifest },
    });
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
    for (const accept of [
      `${MediaType.dockerManifest}, ${MediaType.ociManifest}`,
      '*/*',
      `${MediaType.dockerManifest};q=0.9, ${MediaType.ociManifest};q=0.5`,
    ]) {
      res = await client.request('GET', '/v2/neg/app/manifests/v1', { headers: { Accept: accept } });
      assert.equal(res.status, 200, accept);
      await res.arrayBuffer();
    }
  });

  test('a manifest whose blobs are not in the repository is refused with MANIFEST_BLOB_UNKNOWN', async () => {
    const image = makeImage();
    await client.pushBlob('missing/app', image.config);
    let res = await client.pushManifest('missing/app', 'v1', image.manifest, image.mediaType);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: { code: string; detail: { missing: string[] } }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(body.errors[0]?.detail.missing.sort(), image.layers.map((l) => l.digest).sort());
    // Blobs pushed to another repository do not count.
    for (const layer of image.layers) await client.pushBlob('elsewhere/app', layer);
    res = await client.pushManifest('missing/app', 'v1', image.manifest, image.mediaType);
    assert.equal(res.status, 400);
    await res.arrayBuffer();
    res = await client.request('GET', '/v2/missing/app/manifests/v1');
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('invalid manifests: not JSON, wrong schema, unknown type, too large, digest mismatch', async () => {
    const put = (body: Buffer | string, type: string, ref = 'v1') =>
      client.request('PUT', `/v2/invalid/app/manifests/${ref}`, { body, headers: { 'Content-Type': type } });
    for (const [body, type] of [
      ['this is not json', MediaType.ociManifest],
      ['{"schemaVersion":2}', MediaType.ociManifest],
      ['{"schemaVersion":2,"mediaType":"text/plain","config":{},"layers":[]}', 'text/plain'],
      ['{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}', MediaType.dockerSchema1Signed],
    ]) {
      const res = await put(body as string, type as string);
      assert.equal(res.status, 400, body);
      assert.equal(await errorCode(res), 'MANIFEST_INVALID');
    }
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    let res = await put(big, MediaType.ociManifest);
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'MANIFEST_INVALID');
    const image = makeImage();
    await client.pushImage('invalid/app', 'ok', image);
    res = await put(image.manifest.bytes, image.mediaType, blobOf('other').digest);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    res = await put(image.manifest.bytes, image.mediaType, 'bad:tag');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    res = await put(image.manifest.bytes, image.mediaType, '-badtag');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'TAG_INVALID');
    assert.equal((await client.request('GET', '/v2/invalid/app/manifests/v1')).status, 404);
  });

  test('PUT by digest with ?tag= sets several tags at once (OCI-Tag)', async () => {
    const image = makeImage();
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('multitag/app', blob);
    const res = await client.request(
      'PUT',
      `/v2/multitag/app/manifests/${image.manifest.digest}?tag=1.2.3&tag=1.2&tag=latest`,
      {
        body: image.manifest.bytes,
        headers: { 'Content-Type': image.mediaType },
      },
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-tag'), '1.2.3, 1.2, latest');
    const tags = (await (await client.request('GET', '/v2/multitag/app/tags/list')).json()) as {
      tags: string[];
    };
    assert.deepEqual(tags.tags, ['1.2', '1.2.3', 'latest']);
  });
});

describe('indexes', () => {
  test('OCI index and Docker manifest list need their children in the repository', async () => {
    for (const docker of [false, true]) {
      const repo = docker ? 'list/docker' : 'list/oci';
      const amd = makeImage({ docker, arch: 'amd64' });
      const arm = makeImage({ docker, arch: 'arm64' });
      const index = makeIndex(
        [
          { image: amd, arch: 'amd64' },
          { image: arm, arch: 'arm64' },
        ],
        docker,
      );
      await client.pushImage(repo, amd.manifest.digest, amd);
      let res = await client.pushManifest(repo, 'multi', index, index.mediaType);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { errors: { code: string; detail: { missing: string[] } }[] };
      assert.equal(body.errors[0]?.code, 'MANIFEST_BLOB_UNKNOWN');
      assert.deepEqual(body.errors[0]?.detail.missing, [arm.manifest.digest]);
      await client.pushImage(repo, arm.manifest.digest, arm);
      res = await client.pushManifest(repo, 'multi', index, index.mediaType);
      assert.equal(res.status, 201);
      const get = await client.request('GET', `/v2/${repo}/manifests/multi`);
      assert.equal(get.headers.get('content-type'), index.mediaType);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), index.bytes);
    }
  });
});

describe('artifacts and referrers', () => {
  test('artifact with the empty config, subject before and after, referrers with filtering', async () => {
    const subject = makeImage();
    const subjectDescriptor = { ...subject.manifest, mediaType: subject.mediaType };
    const layer = blobOf('an sbom document');
    await client.pushBlob('ref/app', layer);
    const artifact = (artifactType: string, annotations: Record<string, string>) =>
      blobOf(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          artifactType,
          config: { mediaType: MediaType.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2, data: 'e30=' },
          layers: [{ mediaType: 'application/spdx+json', digest: layer.digest, size: layer.bytes.length }],
          subject: {
            mediaType: subject.mediaType,
            digest: subject.manifest.digest,
            size: subject.manifest.bytes.length,
          },
          annotations,
        }),
      );
    const sbom = artifact('application/vnd.example.sbom.v1', { 'org.example.kind': 'sbom' });
    const sig = artifact('application/vnd.example.signature.v1', { 'org.example.kind': 'sig' });
    // The subject does not exist yet: the referrer is still accepted.
    let res = await client.pushManifest('ref/app', sbom.digest, sbom, MediaType.ociManifest);
    assert.equal(res.status, 201, await res.text());
    assert.equal(res.headers.get('oci-subject'), subject.manifest.digest);
    await client.pushImage('ref/app', 'v1', subject);
    res = await client.pushManifest('ref/app', sig.digest, sig, MediaType.ociManifest);
    assert.equal(res.status, 201);

    res = await client.request('GET', `/v2/ref/app/referrers/${subjectDescriptor.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), MediaType.ociIndex);
    assert.equal(res.headers.get('oci-filters-applied'), null);
    const all = (await res.json()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Record<string, unknown>[];
    };
    assert.equal(all.schemaVersion, 2);
    assert.equal(all.mediaType, MediaType.ociIndex);
    assert.deepEqual(
      all.manifests.map((m) => m.digest),
      [sbom.digest, sig.digest],
    );
    assert.deepEqual(all.manifests[0], {
      mediaType: MediaType.ociManifest,
      digest: sbom.digest,
      size: sbom.bytes.length,
      artifactType: 'application/vnd.example.sbom.v1',
      annotations: { 'org.example.kind': 'sbom' },
    });

    res = await client.request(
      'GET',
      `/v2/ref/app/referrers/${subject.manifest.digest}?artifactType=${encodeURIComponent('application/vnd.example.signature.v1')}`,
    );
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const filtered = (await res.json()) as { manifests: { digest: string }[] };
    assert.deepEqual(
      filtered.manifests.map((m) => m.digest),
      [sig.digest],
    );

    res = await client.request('GET', `/v2/ref/app/referrers/${blobOf('nothing refers to me').digest}`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { manifests: unknown[] }).manifests, []);
    res = await client.request('GET', '/v2/ref/app/referrers/sha256:nothex');
    assert.equal(res.status, 400);
    await res.arrayBuffer();

    // The empty config was never pushed, yet it can be pulled.
    res = await client.request('GET', `/v2/ref/app/blobs/${EMPTY_JSON_DIGEST}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{}');
  });

  test('an image manifest with a custom config media type reports it as artifactType', async () => {
    const config = blobOf('{"signed":true}');
    await client.pushBlob('cfgtype/app', config);
    const subject = blobOf('whatever');
    const manifest = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: {
          mediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
          digest: config.digest,
          size: config.bytes.length,
        },
        layers: [],
        subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: 8 },
      }),
    );
    assert.equal(
      (await client.pushManifest('cfgtype/app', manifest.digest, manifest, MediaType.ociManifest)).status,
      201,
    );
    const res = await client.request('GET', `/v2/cfgtype/app/referrers/${subject.digest}`);
    const body = (await res.json()) as { manifests: { artifactType: string }[] };
    assert.equal(body.manifests[0]?.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  });
});

describe('deletes', () => {
  test('deleting a tag removes the tag only; deleting by digest removes the manifest and its tags', async () => {
    const image = makeImage();
    await client.pushImage('del/app', 'v1', image);
    await client.pushManifest('del/app', 'v2', image.manifest, image.mediaType);
    let res = await client.request('DELETE', '/v2/del/app/manifests/v1');
    assert.equal(res.status, 202);
    assert.equal((await client.request('HEAD', '/v2/del/app/manifests/v1')).status, 404);
    assert.equal((await client.request('HEAD', '/v2/del/app/manifests/v2')).status, 200);
    assert.equal(
      (await client.request('HEAD', `/v2/del/app/manifests/${image.manifest.digest}`)).status,
      200,
    );
    res = await client.request('DELETE', `/v2/del/app/manifests/${image.manifest.digest}`);
    assert.equal(res.status, 202);
    assert.equal((await client.request('HEAD', '/v2/del/app/manifests/v2')).status, 404);
    assert.equal(
      (await client.request('HEAD', `/v2/del/app/manifests/${image.manifest.digest}`)).status,
      404,
    );
    res = await client.request('DELETE', `/v2/del/app/manifests/${image.manifest.digest}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
    res = await client.request('DELETE', '/v2/never/existed/manifests/v1');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'NAME_UNKNOWN');
  });

  test('deleting a blob unlinks it from the repository', async () => {
    const blob = blobOf('to be deleted');
    await client.pushBlob('delblob/app', blob);
    await client.pushBlob('delblob/other', blob);
    let res = await client.request('DELETE', `/v2/delblob/app/blobs/${blob.digest}`);
    assert.equal(res.status, 202);
    assert.equal((await client.request('HEAD', `/v2/delblob/app/blobs/${blob.digest}`)).status, 404);
    assert.equal((await client.request('HEAD', `/v2/delblob/other/blobs/${blob.digest}`)).status, 200);
    res = await client.request('DELETE', `/v2/delblob/app/blobs/${blob.digest}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
  });

  test('with deletes switched off every delete is UNSUPPORTED', async (t) => {
    const readOnly = await startTestServer({ data: await tempDir(t), config: { 'registry.deletes': false } });
    t.after(() => readOnly.close());
    const c = new TestClient(readOnly.url);
    const image = makeImage();
    await c.pushImage('keep/app', 'v1', image);
    for (const path of [
      '/v2/keep/app/manifests/v1',
      `/v2/keep/app/manifests/${image.manifest.digest}`,
      `/v2/keep/app/blobs/${image.config.digest}`,
    ]) {
      const res = await c.request('DELETE', path);
      assert.equal(res.status, 405, path);
      assert.equal(await errorCode(res), 'UNSUPPORTED');
    }
    assert.equal((await c.request('HEAD', '/v2/keep/app/manifests/v1')).status, 200);
  });
});

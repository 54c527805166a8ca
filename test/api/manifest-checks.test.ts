import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { EMPTY_JSON_DIGEST } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { type Blob, blobOf, makeImage, makeIndex, type TestImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

// Issue 9, finding 7 (second half): a manifest PUT whose descriptors lie about sizes, or whose JSON has a key
// twice (JSON.parse keeps the last, Go's encoding/json too, other parsers the first or an error), answered 201.

let server: RunningServer;
let client: TestClient;

before(async () => {
  server = await startTestServer({ data: await tempDir({ after }) });
  client = new TestClient(server.url);
});
after(() => server.close());

interface OciError {
  code: string;
  detail?: { key?: string; descriptors?: { digest: string; size: number; stored: number }[] };
}

async function refusal(res: Response): Promise<OciError> {
  assert.equal(res.status, 400);
  return ((await res.json()) as { errors: OciError[] }).errors[0] as OciError;
}

const putText = (repo: string, ref: string, text: string | Buffer, type: string = MediaType.ociManifest) =>
  client.request('PUT', `/v2/${repo}/manifests/${ref}`, { body: text, headers: { 'Content-Type': type } });

async function stored(repo: string, ref: string): Promise<number> {
  const res = await client.request('HEAD', `/v2/${repo}/manifests/${ref}`);
  await res.arrayBuffer();
  return res.status;
}

/** An image manifest as an object, to be changed before it is serialized. */
function manifestOf(image: TestImage): Record<string, unknown> & { layers: { size: number }[] } {
  return JSON.parse(image.manifest.bytes.toString()) as Record<string, unknown> & {
    layers: { size: number }[];
  };
}

describe('descriptor sizes must match the stored content', () => {
  let image: TestImage;
  before(async () => {
    image = makeImage();
    for (const blob of [image.config, ...image.layers])
      assert.equal((await client.pushBlob('sizes/app', blob)).status, 201);
  });

  test('a layer one byte off: MANIFEST_INVALID naming digest, claimed and stored size; nothing stored', async () => {
    const m = manifestOf(image);
    (m.layers[1] as { size: number }).size += 1;
    const error = await refusal(await putText('sizes/app', 'v1', JSON.stringify(m)));
    assert.equal(error.code, 'MANIFEST_INVALID');
    const layer = image.layers[1] as Blob;
    assert.deepEqual(error.detail?.descriptors, [
      { digest: layer.digest, size: layer.bytes.length + 1, stored: layer.bytes.length },
    ]);
    assert.equal(await stored('sizes/app', 'v1'), 404);
  });

  test('a config whose size is zero, and the empty descriptor with a size other than 2', async () => {
    const m = manifestOf(image);
    (m.config as { size: number }).size = 0;
    assert.equal(
      (await refusal(await putText('sizes/app', 'v2', JSON.stringify(m)))).code,
      'MANIFEST_INVALID',
    );
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/vnd.example+type',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_JSON_DIGEST, size: 3 },
      layers: [],
    };
    assert.equal(
      (await refusal(await putText('sizes/app', 'v3', JSON.stringify(artifact)))).code,
      'MANIFEST_INVALID',
    );
    artifact.config.size = 2;
    assert.equal((await putText('sizes/app', 'v3', JSON.stringify(artifact))).status, 201);
  });

  test('an index whose child size is wrong', async () => {
    await client.pushImage('sizes/app', image.manifest.digest, image);
    const index = JSON.parse(makeIndex([{ image, arch: 'amd64' }]).bytes.toString()) as {
      manifests: { size: number }[];
    };
    (index.manifests[0] as { size: number }).size -= 1;
    const error = await refusal(
      await putText('sizes/app', 'list', JSON.stringify(index), MediaType.ociIndex),
    );
    assert.equal(error.code, 'MANIFEST_INVALID');
    assert.equal(error.detail?.descriptors?.[0]?.digest, image.manifest.digest);
    assert.equal(await stored('sizes/app', 'list'), 404);
  });

  test('right sizes are stored byte for byte', async () => {
    assert.equal(
      (await client.pushManifest('sizes/app', 'good', image.manifest, image.mediaType)).status,
      201,
    );
    const res = await client.request('GET', '/v2/sizes/app/manifests/good', {
      headers: { Accept: image.mediaType },
    });
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.manifest.bytes);
  });
});

describe('duplicate keys and text two parsers could read differently', () => {
  let image: TestImage;
  let text: string;
  before(async () => {
    image = makeImage();
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('dupes/app', blob);
    text = image.manifest.bytes.toString();
  });

  test('a key twice at the top, in a layer, in annotations, or spelt with an escape: MANIFEST_INVALID', async () => {
    const other = makeImage();
    const layer = image.layers[0] as Blob;
    const cases: [string, string][] = [
      // An index to one parser, an image to another.
      [text.replace('{', `{"mediaType":"${MediaType.ociIndex}",`), 'mediaType'],
      // The first layer's digest, then another: which layer is pulled depends on the parser.
      [
        text.replace(
          `"digest":"${layer.digest}"`,
          `"digest":"${layer.digest}","digest":"${other.layers[0]?.digest}"`,
        ),
        'layers[0].digest',
      ],
      [text.replace(/}$/, ',"annotations":{"a":"1","a":"2"}}'), 'annotations.a'],
      [text.replace('"schemaVersion":2', '"schemaVersion":2,"\\u0073chemaVersion":2'), 'schemaVersion'],
    ];
    for (const [body, key] of cases) {
      const error = await refusal(await putText('dupes/app', 'v1', body));
      assert.equal(error.code, 'MANIFEST_INVALID', body);
      assert.equal(error.detail?.key, key, body);
    }
    assert.equal(await stored('dupes/app', 'v1'), 404);
  });

  test('invalid UTF-8 and a byte order mark are refused', async () => {
    const bad = Buffer.concat([
      Buffer.from(text.replace(/}$/, ',"annotations":{"a":"')),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}}'),
    ]);
    assert.equal((await refusal(await putText('dupes/app', 'v2', bad))).code, 'MANIFEST_INVALID');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), image.manifest.bytes]);
    assert.equal((await refusal(await putText('dupes/app', 'v2', bom))).code, 'MANIFEST_INVALID');
    assert.equal(await stored('dupes/app', 'v2'), 404);
  });

  test('the same key in different objects is fine, and the odd spacing is kept byte for byte', async () => {
    const spaced = blobOf(`  ${text.replace(/,/g, ' ,\n ')}\n`);
    assert.equal((await putText('dupes/app', 'v3', spaced.bytes)).status, 201);
    const res = await client.request('GET', `/v2/dupes/app/manifests/${spaced.digest}`, {
      headers: { Accept: MediaType.ociManifest },
    });
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), spaced.bytes);
  });
});

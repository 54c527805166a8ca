import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addUser,
  basic,
  bootstrapAdmin,
} from '../support/access-fixtures.js';
import { blobOf, makeImage, makeIndex, type TestImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

// Issue 9, finding 7: `curl -X DELETE R/v2/team/app/blobs/<layer of the image tagged v1>` answered 202 and
// left v1 unpullable; the same for a child manifest of a tagged index. Such deletes are DENIED now, naming
// a manifest and tag that need the digest, unless a system administrator adds ?force=true.

interface OciError {
  code: string;
  message: string;
  detail?: { manifest?: string; tag?: string };
}

async function denied(res: Response): Promise<OciError> {
  assert.equal(res.status, 403);
  const body = (await res.json()) as { errors: OciError[] };
  const error = body.errors[0] as OciError;
  assert.equal(error.code, 'DENIED');
  return error;
}

async function status(client: TestClient, method: string, path: string): Promise<number> {
  const res = await client.request(method, path);
  await res.arrayBuffer();
  return res.status;
}

describe('deleting what a tag still needs, auth off (the operator may force)', () => {
  let server: RunningServer;
  let client: TestClient;
  before(async () => {
    server = await startTestServer({ data: await tempDir({ after }) });
    client = new TestClient(server.url);
  });
  after(() => server.close());

  test('a layer or config of a tagged image: DENIED naming the manifest and tag; the image stays whole', async () => {
    const image = makeImage();
    await client.pushImage('keep/app', 'v1', image);
    for (const blob of [image.layers[0], image.config]) {
      const error = await denied(await client.request('DELETE', `/v2/keep/app/blobs/${blob?.digest}`));
      assert.equal(error.detail?.manifest, image.manifest.digest);
      assert.equal(error.detail?.tag, 'v1');
      assert.ok(error.message.includes(image.manifest.digest), error.message);
      assert.ok(error.message.includes('v1'), error.message);
    }
    for (const blob of [image.config, ...image.layers]) {
      assert.equal(await status(client, 'GET', `/v2/keep/app/blobs/${blob.digest}`), 200);
    }
  });

  test('once no tag reaches the manifest, its blobs may go', async () => {
    const image = makeImage();
    await client.pushImage('untag/app', 'v1', image);
    assert.equal(await status(client, 'DELETE', '/v2/untag/app/manifests/v1'), 202);
    assert.equal(await status(client, 'DELETE', `/v2/untag/app/blobs/${image.layers[0]?.digest}`), 202);
  });

  test('the same layer in another repository does not protect it here', async () => {
    const image = makeImage();
    await client.pushImage('other/tagged', 'v1', image);
    const layer = image.layers[0] as { digest: string; bytes: Buffer };
    assert.equal((await client.pushBlob('other/loose', layer)).status, 201);
    assert.equal(await status(client, 'DELETE', `/v2/other/loose/blobs/${layer.digest}`), 202);
  });

  test('a child of a tagged index, and its layers: DENIED naming the index and its tag', async () => {
    const amd = makeImage({ arch: 'amd64' });
    const arm = makeImage({ arch: 'arm64' });
    await client.pushImage('multi/app', amd.manifest.digest, amd);
    await client.pushImage('multi/app', arm.manifest.digest, arm);
    const index = makeIndex([
      { image: amd, arch: 'amd64' },
      { image: arm, arch: 'arm64' },
    ]);
    assert.equal((await client.pushManifest('multi/app', 'latest', index, index.mediaType)).status, 201);

    let error = await denied(
      await client.request('DELETE', `/v2/multi/app/manifests/${arm.manifest.digest}`),
    );
    assert.deepEqual([error.detail?.manifest, error.detail?.tag], [index.digest, 'latest']);
    // A layer of the child: the child is the manifest that needs it, reached from the index's tag.
    error = await denied(await client.request('DELETE', `/v2/multi/app/blobs/${arm.layers[1]?.digest}`));
    assert.deepEqual([error.detail?.manifest, error.detail?.tag], [arm.manifest.digest, 'latest']);
    assert.equal(await status(client, 'HEAD', `/v2/multi/app/manifests/${arm.manifest.digest}`), 200);

    // Deleting the index itself is fine (its tag goes with it); then the children are free.
    assert.equal(await status(client, 'DELETE', `/v2/multi/app/manifests/${index.digest}`), 202);
    assert.equal(await status(client, 'DELETE', `/v2/multi/app/manifests/${arm.manifest.digest}`), 202);
    assert.equal(await status(client, 'DELETE', `/v2/multi/app/blobs/${amd.layers[0]?.digest}`), 202);
  });

  test('an index of indexes: a grandchild layer is still needed by the top tag', async () => {
    const image = makeImage();
    await client.pushImage('nest/app', image.manifest.digest, image);
    const inner = makeIndex([{ image, arch: 'amd64' }]);
    assert.equal((await client.pushManifest('nest/app', inner.digest, inner, inner.mediaType)).status, 201);
    const outer = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ mediaType: MediaType.ociIndex, digest: inner.digest, size: inner.bytes.length }],
      }),
    );
    assert.equal((await client.pushManifest('nest/app', 'top', outer, MediaType.ociIndex)).status, 201);
    const error = await denied(
      await client.request('DELETE', `/v2/nest/app/blobs/${image.layers[0]?.digest}`),
    );
    assert.deepEqual([error.detail?.manifest, error.detail?.tag], [image.manifest.digest, 'top']);
    await denied(await client.request('DELETE', `/v2/nest/app/manifests/${inner.digest}`));
  });

  test('a referrer does not need its subject: the subject may be deleted though a tagged signature points at it', async () => {
    const image = makeImage();
    await client.pushImage('sig/app', image.manifest.digest, image);
    const signature = makeImage({
      layers: [64],
      subject: { ...image.manifest, mediaType: image.mediaType },
    });
    await client.pushImage('sig/app', 'sha256-signature', signature);
    assert.equal(await status(client, 'DELETE', `/v2/sig/app/manifests/${image.manifest.digest}`), 202);
    // The signature's own layer is needed by its own tag.
    await denied(await client.request('DELETE', `/v2/sig/app/blobs/${signature.layers[0]?.digest}`));
  });

  test('deleting a tagged manifest by digest takes its tags with it, as before', async () => {
    const image = makeImage();
    await client.pushImage('own/app', 'v1', image);
    assert.equal(await status(client, 'DELETE', `/v2/own/app/manifests/${image.manifest.digest}`), 202);
    assert.equal(await status(client, 'HEAD', '/v2/own/app/manifests/v1'), 404);
  });

  test('?force=true from the local operator deletes anyway', async () => {
    const image = makeImage();
    await client.pushImage('force/app', 'v1', image);
    const layer = image.layers[0]?.digest;
    assert.equal(await status(client, 'DELETE', `/v2/force/app/blobs/${layer}?force=false`), 403);
    assert.equal(await status(client, 'DELETE', `/v2/force/app/blobs/${layer}?force=true`), 202);
    assert.equal(await status(client, 'HEAD', `/v2/force/app/blobs/${layer}`), 404);
  });
});

describe('forcing a delete, auth on', () => {
  let server: RunningServer;
  let admin: Account;
  let maintainer: Account;
  const image: TestImage = makeImage();
  before(async () => {
    server = await startTestServer({ data: await tempDir({ after }), config: { 'auth.mode': 'token' } });
    admin = bootstrapAdmin(server);
    await addProject(server, 'team', false);
    maintainer = await addUser(server, 'maya', 'pw-maya-12345');
    await addMember(server, 'team', maintainer, 'maintainer');
    await new AuthorizedClient(server.url, basic(admin)).pushImage('team/app', 'v1', image);
  });
  after(() => server.close());

  test('a maintainer may delete but not force: DENIED either way; a system administrator may force', async () => {
    const mine = new AuthorizedClient(server.url, basic(maintainer));
    const layer = image.layers[0]?.digest;
    await denied(await mine.request('DELETE', `/v2/team/app/blobs/${layer}`));
    const refused = await denied(await mine.request('DELETE', `/v2/team/app/blobs/${layer}?force=true`));
    assert.match(refused.message, /system administrator/);
    await denied(await mine.request('DELETE', `/v2/team/app/manifests/${image.manifest.digest}?force=true`));
    assert.equal(await status(mine, 'HEAD', `/v2/team/app/blobs/${layer}`), 200);

    const root = new AuthorizedClient(server.url, basic(admin));
    await denied(await root.request('DELETE', `/v2/team/app/blobs/${layer}`));
    assert.equal(await status(root, 'DELETE', `/v2/team/app/blobs/${layer}?force=true`), 202);
    assert.equal(await status(root, 'HEAD', `/v2/team/app/blobs/${layer}`), 404);
  });
});

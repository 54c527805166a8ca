// `berth serve` with its blobs in S3 (Ceph radosgw from scripts/throwaway-ceph.sh): skopeo pushes and pulls
// through it, a chunked upload in pieces smaller than S3's part minimum commits, and blob GETs answer with a
// presigned redirect that skopeo and fetch follow to the object store.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BerthProcess, spawnBerth } from '../support/berth-process.js';
import {
  blobPath,
  type ClientEnv,
  makeClientEnv,
  readLayoutRef,
  requireTools,
  skopeo,
  umociImage,
  writeRootfs,
} from '../support/containers.js';
import { fileScope, tempDir } from '../support/temp.js';
import { requireCondition } from '../support/tool-gate.js';

const endpoint = process.env.BERTH_TEST_S3_ENDPOINT;
const tools = await requireTools('skopeo', 'umoci');
const s3 = requireCondition(
  endpoint
    ? undefined
    : 'BERTH_TEST_S3_ENDPOINT is not set (scripts/throwaway-ceph.sh up DIR starts a Ceph radosgw)',
);
const skip = tools.skip || s3.skip;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe('berth serve on S3 (radosgw)', { skip }, () => {
  let berth: BerthProcess;
  let client: ClientEnv;
  let work: string;
  const bucket = `berth-e2e-${randomBytes(4).toString('hex')}`;

  before(async () => {
    tools.assertAvailable();
    s3.assertAvailable();
    work = await tempDir(fileScope(), 'berth-s3-');
    const config = join(work, 'berth.yaml');
    // The bucket does not exist yet: the server creates it at start.
    await writeFile(
      config,
      [
        'storage:',
        '  s3:',
        `    endpoint: ${endpoint}`,
        `    bucket: ${bucket}`,
        '    prefix: registry',
        '    forcePathStyle: true',
        '    redirect: true',
        '    redirectExpiry: 120',
        '',
      ].join('\n'),
    );
    berth = await spawnBerth(['--listen', '127.0.0.1:0', '--data', join(work, 'data'), '--config', config]);
    client = await makeClientEnv(join(work, 'clients'), berth.hostPort);
  });
  after(async () => {
    await berth?.stop();
  });

  test('skopeo pushes an image with a layer of several parts and pulls it back through presigned redirects', async () => {
    const rootfs = join(work, 'rootfs');
    // Random bytes do not compress: the layer is about 7 MiB, more than one S3 part.
    await writeRootfs(rootfs, { 'data/random.bin': randomBytes(7 * 1024 * 1024), 'etc/hello': 'hi\n' });
    const layout = join(work, 'layout');
    await umociImage(client, layout, 'v1', { rootfs, arch: 'amd64' });
    const ref = await readLayoutRef(layout, 'v1');
    const manifest = JSON.parse(ref.bytes.toString('utf8')) as { layers: { digest: string; size: number }[] };
    await skopeo(client, [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.hostPort}/team/app:v1`,
    ]);
    const layer = manifest.layers[0];
    assert.ok(layer && layer.size > 5 * 1024 * 1024);
    // HEAD answers from metadata; GET redirects to the bucket.
    const head = await fetch(`${berth.url}/v2/team/app/blobs/${layer.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(layer.size));
    const get = await fetch(`${berth.url}/v2/team/app/blobs/${layer.digest}`, { redirect: 'manual' });
    assert.equal(get.status, 307);
    const location = get.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${endpoint}/${bucket}/registry/blobs/sha256/`), location);
    assert.match(location, /X-Amz-Expires=120/);
    const pulled = join(work, 'pulled');
    await skopeo(client, [
      'copy',
      '--src-tls-verify=false',
      `docker://${berth.hostPort}/team/app:v1`,
      `oci:${pulled}:v1`,
    ]);
    const copy = await readFile(blobPath(pulled, layer.digest));
    assert.equal(sha256(copy), layer.digest);
    assert.deepEqual(copy, await readFile(blobPath(layout, layer.digest)));
  });

  test('a chunked upload in 1 MiB pieces commits, and a wrong digest leaves nothing', async () => {
    const bytes = randomBytes(11 * 1024 * 1024 + 333);
    const digest = sha256(bytes);
    const start = async (): Promise<string> => {
      const started = await fetch(`${berth.url}/v2/team/chunks/blobs/uploads/`, { method: 'POST' });
      assert.equal(started.status, 202);
      return new URL(started.headers.get('location') ?? '', berth.url).toString();
    };
    let location = await start();
    const piece = 1024 * 1024 + 11;
    for (let offset = 0; offset < bytes.length; offset += piece) {
      const body = bytes.subarray(offset, offset + piece);
      const patched = await fetch(location, {
        method: 'PATCH',
        body,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${offset + body.length - 1}`,
        },
      });
      assert.equal(patched.status, 202, await patched.text());
      location = new URL(patched.headers.get('location') ?? '', berth.url).toString();
    }
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    // fetch follows the 307 to radosgw.
    const got = await fetch(`${berth.url}/v2/team/chunks/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), digest);
    // A range is served by the node itself.
    const ranged = await fetch(`${berth.url}/v2/team/chunks/blobs/${digest}`, {
      headers: { Range: 'bytes=5242875-5242884' },
      redirect: 'manual',
    });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(5242875, 5242885));

    const wrong = await start();
    const patched = await fetch(wrong, { method: 'PATCH', body: bytes.subarray(0, 1000) });
    assert.equal(patched.status, 202);
    const bad = new URL(new URL(patched.headers.get('location') ?? '', berth.url));
    bad.searchParams.set('digest', sha256(bytes.subarray(0, 999)));
    assert.equal((await fetch(bad, { method: 'PUT' })).status, 400);
    const head = await fetch(`${berth.url}/v2/team/chunks/blobs/${sha256(bytes.subarray(0, 999))}`, {
      method: 'HEAD',
    });
    assert.equal(head.status, 404);
  });
});

import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type BerthProcess, spawnBerth } from '../support/berth-process.js';
import { makeImage, randomBlob } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { tempDir } from '../support/temp.js';

/** Starts a PATCH whose body the test writes piece by piece; resolves the response when it comes. */
function streamingPatch(base: string, location: string) {
  const url = new URL(location, base);
  let resolveResponse: (value: { status: number; range: string | undefined }) => void = () => {};
  let rejectResponse: (error: Error) => void = () => {};
  const response = new Promise<{ status: number; range: string | undefined }>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  const req = request(
    url,
    { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } },
    (res) => {
      res.resume();
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, range: res.headers.range }));
    },
  );
  req.on('error', rejectResponse);
  return {
    write: (bytes: Buffer) => new Promise<void>((resolve) => req.write(bytes, () => resolve())),
    end: () => req.end(),
    response,
  };
}

/**
 * Waits until `check` holds: for what the server does on its own (bytes reaching the disk, a log line),
 * polled every 20 ms and bounded, so that a test waits for the event and not for a guessed time.
 */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`still not the case after 15 s: ${what}`);
}

/** Bytes of an upload session in Berth's storage (its in-flight request's writes included). */
async function storedUploadBytes(data: string, location: string): Promise<number> {
  const id = new URL(location, 'http://x').pathname.split('/').pop() as string;
  const info = await stat(join(data, 'storage', 'uploads', id, 'data')).catch(() => undefined);
  return info?.size ?? 0;
}

async function restart(data: string, previous: BerthProcess): Promise<BerthProcess> {
  await previous.stop('SIGKILL');
  return spawnBerth(['--listen', '127.0.0.1:0', '--data', data]);
}

describe('restarts and crashes', () => {
  test('an upload survives a restart and continues from the stored offset', async (t) => {
    const data = await tempDir(t);
    let berth = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data]);
    t.after(() => berth.stop('SIGKILL'));
    let client = new TestClient(berth.url);
    const blob = randomBlob(100_000);
    const location = await client.startUpload('restart/app');
    const res = await client.request('PATCH', location, {
      body: blob.bytes.subarray(0, 60_000),
      headers: { 'Content-Range': '0-59999' },
    });
    assert.equal(res.status, 202);

    berth = await restart(data, berth);
    client = new TestClient(berth.url);
    const status = await client.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-59999');
    const put = await client.request('PUT', `${location}?digest=${blob.digest}`, {
      body: blob.bytes.subarray(60_000),
      headers: { 'Content-Range': '60000-99999' },
    });
    assert.equal(put.status, 201, await put.text());
    assert.deepEqual(await client.blobBytes('restart/app', blob.digest), blob.bytes);
  });

  test('SIGKILL in the middle of a push loses nothing acknowledged; the cut upload resumes', async (t) => {
    const data = await tempDir(t);
    let berth = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data]);
    t.after(() => berth.stop('SIGKILL'));
    let client = new TestClient(berth.url);
    const done = makeImage({ layers: [50_000, 70_000] });
    await client.pushImage('crash/app', 'v1', done);

    const big = randomBlob(4 * 1024 * 1024);
    const location = await client.startUpload('crash/app');
    const patch = streamingPatch(berth.url, location);
    patch.response.catch(() => {});
    let sent = 0;
    for (; sent < 2 * 1024 * 1024; sent += 256 * 1024)
      await patch.write(big.bytes.subarray(sent, sent + 256 * 1024));
    // Killed once some of what was sent is on the disk: the resumed upload starts past 0.
    await until(async () => (await storedUploadBytes(data, location)) > 1, 'upload bytes on disk');

    berth = await restart(data, berth);
    client = new TestClient(berth.url);
    // What was acknowledged is all there, byte for byte.
    const manifest = await client.request('GET', '/v2/crash/app/manifests/v1');
    assert.equal(manifest.status, 200);
    assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), done.manifest.bytes);
    for (const blob of [done.config, ...done.layers]) {
      assert.deepEqual(await client.blobBytes('crash/app', blob.digest), blob.bytes);
    }
    // The cut upload holds a prefix of what was sent; the client goes on from there and the digest matches.
    const status = await client.request('GET', location);
    assert.equal(status.status, 204);
    // `0-0` is what an empty upload reports too; the bytes were flushed long before the kill, so it is not that.
    const offset = Number((status.headers.get('range') as string).split('-')[1]) + 1;
    assert.ok(offset > 1 && offset <= sent, `offset ${offset} is within what was sent (${sent})`);
    const rest = await client.request('PUT', `${location}?digest=${big.digest}`, {
      body: big.bytes.subarray(offset),
      headers: { 'Content-Range': `${offset}-${big.bytes.length - 1}` },
    });
    assert.equal(rest.status, 201, await rest.text());
  });

  test('SIGTERM lets a request in flight finish, then exits cleanly', async (t) => {
    const data = await tempDir(t);
    const berth = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data], { BERTH_LOG_LEVEL: 'info' });
    t.after(() => berth.stop('SIGKILL'));
    const client = new TestClient(berth.url);
    const blob = randomBlob(1024 * 1024);
    const location = await client.startUpload('term/app');
    const patch = streamingPatch(berth.url, location);
    await patch.write(blob.bytes.subarray(0, 512 * 1024));
    // The request is in flight on the server once its first bytes are stored.
    await until(async () => (await storedUploadBytes(data, location)) > 0, 'upload bytes on disk');
    const exited = berth.stop('SIGTERM');
    // The server took the signal and is closing: it must now wait for the request in flight.
    await until(() => berth.output().includes('"msg":"shutting down"'), 'shutdown begun');
    assert.equal(berth.child.exitCode, null, 'still running while a request is in flight');
    await patch.write(blob.bytes.subarray(512 * 1024));
    patch.end();
    const response = await patch.response;
    assert.equal(response.status, 202);
    assert.equal(response.range, `0-${blob.bytes.length - 1}`);
    assert.equal(await exited, 0);
    assert.match(berth.output(), /"msg":"stopped"/);

    const again = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data]);
    t.after(() => again.stop('SIGKILL'));
    const c2 = new TestClient(again.url);
    const put = await c2.request('PUT', `${location}?digest=${blob.digest}`);
    assert.equal(put.status, 201, 'every byte of the finished request was kept');
  });

  test('a bad config is refused at start with the key named', async (t) => {
    const data = await tempDir(t);
    await assert.rejects(
      spawnBerth(['--listen', '127.0.0.1:0', '--data', data], { BERTH_REGISTRY_MAX_MANIFEST_SIZE: 'lots' }),
      /config key registry\.maxManifestSize/,
    );
  });
});

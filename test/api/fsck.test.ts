import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BlobCheckReport } from '../../src/jobs/blob-check.js';
import type { RunningServer } from '../../src/main/server.js';
import { makeImage, makeIndex } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let server: RunningServer;
let client: TestClient;
let data: string;

before(async () => {
  data = await mkdtemp(join(tmpdir(), 'berth-fsck-'));
  server = await startTestServer({ data });
  client = new TestClient(server.url);
});
after(async () => {
  await server.close();
  await rm(data, { recursive: true, force: true });
});

function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(data, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/** Flips one byte of a stored blob, as a failing disk would. */
async function flipByte(digest: string, at = 10): Promise<void> {
  const handle = await open(blobFile(digest), 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** `berth fsck ARGS` as a process: its exit status and output. */
function fsck(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, 'fsck', ...args], (error, stdout, stderr) => {
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('corrupt blobs (issue 9, finding 6)', () => {
  // Flip one byte of a stored layer; `curl $R/v2/fsck/repush/blobs/$D` returned 200 with the wrong bytes, and
  // pushing the right bytes again (201) kept the corrupt file.
  test('re-pushing a blob whose stored bytes rotted publishes the verified bytes over them', async () => {
    const image = makeImage({ layers: [4096] });
    await client.pushImage('fsck/repush', 'v1', image);
    const layer = image.layers[0] as { digest: string; bytes: Buffer };
    await flipByte(layer.digest);
    assert.notDeepEqual(await client.blobBytes('fsck/repush', layer.digest), layer.bytes);
    const res = await client.pushBlob('fsck/repush', layer);
    assert.equal(res.status, 201, await res.text());
    assert.deepEqual(await client.blobBytes('fsck/repush', layer.digest), layer.bytes);
  });

  test('berth fsck reports corrupt and missing blobs with the tags they break; --repair moves corrupt ones aside so a push restores them', async () => {
    const image = makeImage({ layers: [4096, 8192] });
    await client.pushImage('fsck/app', 'v1', image);
    // The same image under an index in another repository: the index's tag breaks too.
    const index = makeIndex([{ image, arch: 'amd64' }]);
    await client.pushImage('fsck/multi', image.manifest.digest, image);
    assert.equal((await client.pushManifest('fsck/multi', 'multi', index, index.mediaType)).status, 201);
    const corrupt = image.layers[0] as { digest: string; bytes: Buffer };
    await flipByte(corrupt.digest);
    await rm(blobFile(image.config.digest));

    const text = await fsck('--data', data);
    assert.equal(text.status, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`corrupt +${corrupt.digest}`));
    assert.match(text.stdout, new RegExp(`missing +${image.config.digest}`));
    assert.match(text.stdout, /fsck\/app: tags v1;/);
    assert.match(text.stdout, /fsck\/multi: tags multi;/);
    assert.match(text.stdout, /2 problem\(s\)/);

    const json = await fsck('--data', data, '--json');
    assert.equal(json.status, 1, json.stderr);
    const report = JSON.parse(json.stdout) as BlobCheckReport;
    assert.equal(report.complete, true);
    const byDigest = new Map(report.problems.map((p) => [p.digest as string, p]));
    const bad = byDigest.get(corrupt.digest);
    assert.equal(bad?.problem, 'corrupt');
    assert.equal(bad?.size, corrupt.bytes.length);
    assert.deepEqual(bad?.dependents, [
      { repository: 'fsck/app', linked: true, manifests: [image.manifest.digest], tags: ['v1'] },
      {
        repository: 'fsck/multi',
        linked: true,
        manifests: [image.manifest.digest, index.digest],
        tags: ['multi'],
      },
    ]);
    assert.equal(byDigest.get(image.config.digest)?.problem, 'missing');
    assert.equal(report.problems.length, 2);
    assert.equal(bad?.quarantined, undefined, 'without --repair nothing moves');

    const repair = await fsck('--data', data, '--repair', '--json');
    assert.equal(repair.status, 1, repair.stderr);
    const repaired = JSON.parse(repair.stdout) as BlobCheckReport;
    const aside = repaired.problems.find((p) => p.digest === corrupt.digest)?.quarantined;
    assert.match(aside ?? '', /^quarantine\/sha256\//);
    assert.ok((await stat(join(data, 'storage', aside as string))).isFile());
    await assert.rejects(stat(blobFile(corrupt.digest)), { code: 'ENOENT' });
    // Moved aside, the blob reads as missing: a client's push (HEAD first) uploads it again.
    assert.equal((await client.request('HEAD', `/v2/fsck/app/blobs/${corrupt.digest}`)).status, 404);

    for (const blob of [corrupt, image.config]) {
      const res = await client.pushBlob('fsck/app', blob);
      assert.equal(res.status, 201, await res.text());
    }
    assert.deepEqual(await client.blobBytes('fsck/app', corrupt.digest), corrupt.bytes);
    assert.deepEqual(await client.blobBytes('fsck/multi', corrupt.digest), corrupt.bytes);
    assert.deepEqual(await client.blobBytes('fsck/app', image.config.digest), image.config.bytes);

    const clean = await fsck('--data', data, '--json');
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.deepEqual((JSON.parse(clean.stdout) as BlobCheckReport).problems, []);
    const cleanText = await fsck('--data', data);
    assert.equal(cleanText.status, 0);
    assert.match(cleanText.stdout, /no problems/);
    assert.equal((await readdir(join(data, 'storage', 'quarantine', 'sha256'))).length, 1);
  });

  test('berth fsck on a folder that holds no registry cannot run: exit 2, one line, nothing created', async (t) => {
    const empty = await tempDir(t);
    const result = await fsck('--data', empty);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^berth: no blob storage at .* \(check --data or --config\)\n$/);
    assert.deepEqual(await readdir(empty), []);
  });
});

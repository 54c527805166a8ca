import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { randomBlob } from '../../test/support/images.js';
import { TestClient } from '../../test/support/oci-client.js';
import { tempDir } from '../../test/support/temp.js';
import { loadConfig } from '../config/config.js';
import { startServer } from '../main/server.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import type { Digest } from '../oci/digest.js';
import type { RepoName } from '../oci/names.js';
import { DriverBlobStore } from '../storage/blob-store.js';
import { FsDriver } from '../storage/fs-driver.js';
import { ByteRatePacer, checkBlobs, type PaceClock } from './blob-check.js';

/** A clock that moves only when something waits on it: waiting is instant and adds up. */
class HandClock implements PaceClock {
  time = 1_000_000;
  waited = 0;
  now(): number {
    return this.time;
  }
  async wait(ms: number): Promise<void> {
    this.time += ms;
    this.waited += ms;
  }
}

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

test('the pacer holds reads to the rate: 10 MiB at 2 MiB/s waits 5 s in all; 0 means no limit', async () => {
  const clock = new HandClock();
  const pacer = new ByteRatePacer(2 * MiB, clock);
  for (let i = 0; i < 40; i++) await pacer.take(MiB / 4);
  assert.equal(clock.waited, 5000);
  const free = new HandClock();
  const unlimited = new ByteRatePacer(0, free);
  for (let i = 0; i < 40; i++) await unlimited.take(MiB);
  assert.equal(free.waited, 0);
});

test('checkBlobs reads every blob at the configured rate and reports only the bad ones', async (t) => {
  const dir = await tempDir(t);
  const blobs = new DriverBlobStore(new FsDriver(join(dir, 'storage')));
  const meta = openSqliteMetadata(join(dir, 'meta.sqlite'));
  t.after(() => meta.close());
  await meta.migrate();
  const repo = 'check/app' as RepoName;
  const stored: Digest[] = [];
  for (const size of [MiB, 2 * MiB, 1000]) {
    const blob = randomBlob(size);
    const upload = await blobs.createUpload();
    await upload.append(Readable.from([blob.bytes]));
    await upload.commit(blob.digest as Digest);
    await meta.tx(async (tx) => tx.linkBlob(await tx.ensureRepository(repo), blob.digest as Digest, size));
    stored.push(blob.digest as Digest);
  }
  const clock = new HandClock();
  const report = await checkBlobs(blobs, meta, { repair: false, bytesPerSecond: MiB, clock, log: silent });
  assert.equal(report.checked, 3);
  assert.equal(report.bytes, 3 * MiB + 1000);
  assert.deepEqual(report.problems, []);
  assert.equal(report.complete, true);
  // Waits add up to bytes / rate (the last piece may end before its wait is due).
  assert.ok(clock.waited >= 3000 && clock.waited <= 3001, `waited ${clock.waited} ms`);

  const stopped = new AbortController();
  stopped.abort(new Error('shutting down'));
  const partial = await checkBlobs(blobs, meta, {
    repair: false,
    bytesPerSecond: 0,
    clock,
    log: silent,
    signal: stopped.signal,
  });
  assert.equal(partial.complete, false);
  assert.equal(partial.checked, 0);
});

// `storage.blobCheck.interval: 1` and `repair: true` in berth.yaml: the server finds a flipped byte by itself,
// moves the blob aside, and the blob then reads as missing so a client pushes it again.
test('berth serve runs the blob check on its interval and, with repair on, moves a corrupt blob aside', async (t) => {
  const dir = await tempDir(t);
  const lines: string[] = [];
  const logged = new EventEmitter();
  const log = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(line);
        logged.emit('line', line);
      },
    },
  );
  const config = loadConfig({
    env: {},
    overrides: {
      listen: '127.0.0.1:0',
      data: dir,
      'auth.mode': 'none',
      'storage.reserve': 0,
      'storage.blobCheck.interval': 1,
      'storage.blobCheck.repair': true,
    },
  });
  const server = await startServer(config, { log });
  t.after(() => server.close());
  const client = new TestClient(server.url);
  const blob = randomBlob(4096);
  assert.equal((await client.pushBlob('job/app', blob)).status, 201);
  const hex = blob.digest.slice('sha256:'.length);
  const handle = await open(join(dir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex), 'r+');
  await handle.write(Buffer.from('!'), 0, 1, 0);
  await handle.close();

  // The sign that the job ran over the corrupt blob: its log line.
  while (!lines.some((line) => line.includes('blob check found a bad blob'))) await once(logged, 'line');
  const finding = JSON.parse(lines.find((l) => l.includes('blob check found a bad blob')) as string);
  assert.equal(finding.digest, blob.digest);
  assert.deepEqual(finding.repositories, ['job/app']);
  assert.match(finding.quarantined, /^quarantine\/sha256\//);
  assert.equal((await readdir(join(dir, 'storage', 'quarantine', 'sha256'))).length, 1);
  assert.equal((await client.request('HEAD', `/v2/job/app/blobs/${blob.digest}`)).status, 404);
  assert.equal((await client.pushBlob('job/app', blob)).status, 201);
  assert.deepEqual(await client.blobBytes('job/app', blob.digest), blob.bytes);
});

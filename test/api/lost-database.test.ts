import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/main/logger.js';
import { startServer } from '../../src/main/server.js';
import { spawnBerth } from '../support/berth-process.js';
import { makeImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { tempDir } from '../support/temp.js';

const ADMIN = { name: 'admin', password: 'admin-password-1' };
const BASIC = `Basic ${Buffer.from(`${ADMIN.name}:${ADMIN.password}`).toString('base64')}`;

/** A real server in this process whose JSON log lines the test reads. */
async function serverWithLog(data: string, overrides: Record<string, unknown> = {}, init = false) {
  const lines: string[] = [];
  const config = loadConfig({
    env: {},
    overrides: { listen: '127.0.0.1:0', data, 'auth.mode': 'token', ...overrides },
  });
  const server = await startServer(config, {
    log: createLogger('warn', { format: 'json', out: { write: (line: string) => lines.push(line) } }),
    adminPassword: ADMIN.password,
    init,
  });
  return { server, lines };
}

async function removeDatabase(data: string): Promise<void> {
  // What the report did: rm -f data/metadata.sqlite*
  for (const suffix of ['', '-wal', '-shm'])
    await rm(join(data, `metadata.sqlite${suffix}`), { force: true });
}

describe('a metadata database deleted under a running server (issue 9 finding 4)', () => {
  test('after rm -f data/metadata.sqlite*: pushes and user changes get 503 UNAVAILABLE, /readyz is not ready, the log says why once', async (t) => {
    const data = await tempDir(t);
    const { server, lines } = await serverWithLog(data);
    t.after(() => server.close());
    const call = (method: string, path: string, body?: unknown) =>
      fetch(new URL(path, server.url), {
        method,
        headers: { Authorization: BASIC, 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });

    assert.equal((await fetch(new URL('/readyz', server.url))).status, 200);
    assert.equal((await call('POST', '/v2/lost/app/blobs/uploads/')).status, 202);
    const created = await call('POST', '/api/v1/users', { name: 'before', password: 'before-password-1' });
    assert.equal(created.status, 201, await created.text());

    await removeDatabase(data);

    // curl -u admin:PW -X POST $R/v2/lost/app/blobs/uploads/   (was 202, into the deleted file)
    const upload = await call('POST', '/v2/lost/app/blobs/uploads/');
    assert.equal(upload.status, 503);
    const ociError = (await upload.json()) as { errors: { code: string }[] };
    assert.equal(ociError.errors[0]?.code, 'UNAVAILABLE');
    // A manifest PUT, the write that tags an image, is refused the same way.
    const image = makeImage({ layers: [1000] });
    const manifest = await fetch(new URL('/v2/lost/app/manifests/v1', server.url), {
      method: 'PUT',
      headers: { Authorization: BASIC, 'Content-Type': image.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(manifest.status, 503);
    // curl -u admin:PW -X POST -d '{"name":"after",…}' $R/api/v1/users   (was 201)
    const user = await call('POST', '/api/v1/users', { name: 'after', password: 'after-password-1' });
    assert.equal(user.status, 503);
    const apiError = (await user.json()) as { errors: { code: string }[] };
    assert.equal(apiError.errors[0]?.code, 'UNAVAILABLE');

    const ready = await fetch(new URL('/readyz', server.url));
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { status: string }).status, 'unavailable');
    // Reads of what the open file holds still work; the server is alive.
    assert.equal((await call('GET', '/api/v1/users/before')).status, 200);
    assert.equal((await fetch(new URL('/healthz', server.url))).status, 200);

    const lost = lines.filter((line) => line.includes('metadata database lost'));
    assert.equal(lost.length, 1, lines.join(''));
    assert.match(lost[0] as string, /deleted/);
  });

  test('a database file replaced by another one (a restore under a running server) is refused too', async (t) => {
    const data = await tempDir(t);
    const { server } = await serverWithLog(data, { 'auth.mode': 'none' });
    t.after(() => server.close());
    const client = new TestClient(server.url);
    await client.pushImage('swap/app', 'v1', makeImage({ layers: [500] }));
    await removeDatabase(data);
    // Another database now sits at the path (here a fresh one with the schema).
    const other = await serverWithLog(data, { 'auth.mode': 'none' }, true);
    await other.server.close();
    const res = await client.request('POST', '/v2/swap/app/blobs/uploads/');
    assert.equal(res.status, 503);
    assert.equal((await client.request('GET', '/readyz')).status, 503);
  });
});

describe('a new database beside stored blobs', () => {
  test('restart with blobs but no metadata.sqlite: refused with METADATA_MISSING naming --init; --init starts', async (t) => {
    const data = await tempDir(t);
    const first = await serverWithLog(data, { 'auth.mode': 'none' });
    await new TestClient(first.server.url).pushImage('kept/app', 'v1', makeImage({ layers: [2000] }));
    await first.server.close();
    await removeDatabase(data);

    // Before: the restart logged "first start: admin user created" and served an empty registry.
    await assert.rejects(serverWithLog(data), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'METADATA_MISSING');
      assert.match(error.message, /--init/);
      return true;
    });
    assert.equal(
      existsSync(join(data, 'metadata.sqlite')),
      false,
      'the refused start left no empty database',
    );

    // berth serve --data DIR --init: the operator's choice, through the real CLI.
    const berth = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data, '--init']);
    t.after(() => berth.stop('SIGKILL'));
    assert.equal((await fetch(new URL('/readyz', berth.url))).status, 200);
    // The next plain start sees the database --init made.
    await berth.stop('SIGTERM');
    const again = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data]);
    t.after(() => again.stop('SIGKILL'));
  });

  test('an empty data folder starts without --init', async (t) => {
    const data = await tempDir(t);
    const { server } = await serverWithLog(data);
    await server.close();
    assert.ok(existsSync(join(data, 'metadata.sqlite')));
  });
});

describe('readiness during the start', () => {
  test('/readyz says starting until the first admin is set up, then ready', async (t) => {
    const data = await tempDir(t);
    const config = loadConfig({
      env: {},
      overrides: { listen: '127.0.0.1:0', data, 'auth.mode': 'token' },
    });
    let during: { status: number; body: string } | undefined;
    const server = await startServer(config, {
      log: createLogger('warn', { format: 'json', out: { write: () => {} } }),
      // Called with the port open but before the start is complete: a probe must not send traffic yet.
      announce: async (ready) => {
        const res = await fetch(new URL('/readyz', ready.url));
        during = { status: res.status, body: await res.text() };
      },
    });
    t.after(() => server.close());
    assert.equal(during?.status, 503);
    assert.match(during?.body ?? '', /starting/);
    assert.equal((await fetch(new URL('/readyz', server.url))).status, 200);
  });
});

// docker-daemon sources against Podman's Docker-compatible API service, on a unix socket and on loopback TCP.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import {
  type ClientEnv,
  makeClientEnv,
  requireTools,
  run,
  skopeo,
} from '../../../test/support/containers.js';
import {
  buildTestLayout,
  drain,
  expectBerthError,
  type LayoutImage,
} from '../../../test/support/source-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { openDockerArchive } from './docker-archive-source.js';
import { openDockerDaemon } from './docker-daemon-source.js';
import { DOCKER_LAYER_TAR, type ImageSource } from './image-source.js';

const gate = await requireTools('podman', 'skopeo', 'umoci');

interface SynthesizedManifest {
  config: Descriptor;
  layers: Descriptor[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** GET on the engine API, for the test's own look-ups. */
async function engineGet(host: string, path: string): Promise<{ status: number; body: string }> {
  const client = host.startsWith('unix://')
    ? new Client('http://localhost', { socketPath: host.slice('unix://'.length) })
    : new Client(host.replace(/^tcp:/, 'http:'));
  try {
    const res = await client.request({ method: 'GET', path });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await client.close();
  }
}

describe('docker-daemon source (podman system service)', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  const services: ChildProcess[] = [];
  let work: string;
  let client: ClientEnv;
  let v1: LayoutImage;
  let v2: LayoutImage;
  let socketHost: string;
  let tcpHost: string;
  /** What the docker-archive source gives for the archive the image was loaded from. */
  let v1Manifest: string;

  const startService = async (address: string): Promise<void> => {
    const service = spawn('podman', ['system', 'service', '--time=0', address], {
      env: client.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    service.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    services.push(service);
    // Polls for the service's answer (an event), every 50 ms for at most 20 s.
    for (let i = 0; i < 400; i++) {
      if (service.exitCode !== null) assert.fail(`podman system service exited: ${stderr}`);
      try {
        if ((await engineGet(address, '/_ping')).status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    assert.fail(`podman system service on ${address} did not answer /_ping: ${stderr}`);
  };

  /** Checks the exported image against what umoci built, and every blob's bytes. */
  const checkImage = async (source: ImageSource, image: LayoutImage): Promise<string> => {
    const top = await source.topManifest();
    assert.equal(top.mediaType, MediaType.dockerManifest);
    const manifest = JSON.parse(top.bytes.toString('utf8')) as SynthesizedManifest;
    assert.equal(manifest.config.digest, image.config.digest);
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      image.diffIds.map((d) => [DOCKER_LAYER_TAR, d]),
    );
    for (const d of [manifest.config, ...manifest.layers]) {
      assert.deepEqual(await drain(await source.openBlob(d)), { size: d.size, digest: d.digest });
    }
    return top.digest;
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-docker-daemon-');
    client = await makeClientEnv(join(work, 'env'), '127.0.0.1:1');
    let layout: string;
    ({ layout, v1, v2 } = await buildTestLayout(client, work));
    // Into podman's storage by `podman load` of archives made with skopeo.
    const appArchive = join(work, 'app.tar');
    await skopeo(client, ['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${appArchive}:team/app:v1`]);
    await run(client, 'podman', ['load', '-i', appArchive]);
    const otherArchive = join(work, 'other.tar');
    await skopeo(client, [
      'copy',
      '--quiet',
      `oci:${layout}:v2`,
      `oci-archive:${otherArchive}:localhost/team/other:v2`,
    ]);
    await run(client, 'podman', ['load', '-i', otherArchive]);
    const fromArchive = await openDockerArchive(appArchive);
    v1Manifest = (await fromArchive.topManifest()).digest;
    await fromArchive.close();

    socketHost = `unix://${join(work, 'podman.sock')}`;
    tcpHost = `tcp://127.0.0.1:${await freePort()}`;
    await startService(socketHost);
    await startService(tcpHost);
  });

  after(async () => {
    for (const service of services) {
      if (service.exitCode === null && service.signalCode === null) {
        const exited = new Promise((resolve) => service.once('exit', resolve));
        service.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
      }
    }
    for (const fn of cleanups.reverse()) await fn();
  });

  test('exports an image over the unix socket: the same manifest as its docker-archive, blobs verified', async () => {
    const temp = join(work, 'daemon-temp');
    await mkdir(temp);
    const source = await openDockerDaemon('team/app:v1', { host: socketHost, tempDir: temp });
    try {
      assert.equal(source.description, 'docker-daemon:team/app:v1');
      assert.equal(await checkImage(source, v1), v1Manifest);
      assert.equal((await readdir(temp)).length, 1, 'the export sits in one temporary folder');
    } finally {
      await source.close();
    }
    assert.deepEqual(await readdir(temp), [], 'the export is removed on close');
  });

  test('DOCKER_HOST from the environment, over TCP; a localhost/ image', async () => {
    const source = await openDockerDaemon('localhost/team/other:v2', { env: { DOCKER_HOST: tcpHost } });
    try {
      await checkImage(source, v2);
    } finally {
      await source.close();
    }
  });

  test('an image by digest', async () => {
    const inspected = await engineGet(socketHost, '/images/docker.io%2Fteam%2Fapp:v1/json');
    assert.equal(inspected.status, 200);
    const { Id, RepoDigests } = JSON.parse(inspected.body) as { Id: string; RepoDigests: string[] };
    // The engine's image ID is the config digest the source reports.
    assert.equal(Id, v1.config.digest);
    const byDigest = RepoDigests.find((d) => d.startsWith('docker.io/team/app@'));
    assert.ok(byDigest, `no digest reference in ${JSON.stringify(RepoDigests)}`);
    const source = await openDockerDaemon(byDigest, { host: socketHost });
    try {
      await checkImage(source, v1);
    } finally {
      await source.close();
    }
  });

  test('errors: an unknown image, an engine that is not there, an unsupported DOCKER_HOST', async () => {
    const temp = join(work, 'error-temp');
    await mkdir(temp);
    const missing = await expectBerthError(
      openDockerDaemon('team/nope:v1', { host: socketHost, tempDir: temp }),
      'IMAGE_NOT_FOUND',
    );
    assert.match(missing.message, /^docker-daemon:team\/nope:v1: /);
    assert.deepEqual(await readdir(temp), []);
    const unreachable = await expectBerthError(
      openDockerDaemon('team/app:v1', { host: `unix://${join(work, 'no-such.sock')}` }),
      'DOCKER_UNREACHABLE',
    );
    assert.match(unreachable.message, /no-such\.sock/);
    await expectBerthError(
      openDockerDaemon('team/app:v1', { host: `tcp://127.0.0.1:${await freePort()}` }),
      'DOCKER_UNREACHABLE',
    );
    await expectBerthError(
      openDockerDaemon('team/app:v1', { host: 'ssh://user@host' }),
      'DOCKER_HOST_INVALID',
    );
    // Without DOCKER_HOST the default socket is used; where no engine listens there, that is unreachable.
    if (!existsSync('/var/run/docker.sock')) {
      await expectBerthError(openDockerDaemon('team/app:v1', { env: {} }), 'DOCKER_UNREACHABLE');
    }
  });

  test('the engine export is what podman itself saves', async () => {
    const saved = join(work, 'podman-saved.tar');
    await run(client, 'podman', ['save', '--format', 'docker-archive', '-o', saved, 'docker.io/team/app:v1']);
    const source = await openDockerArchive(saved);
    try {
      assert.equal((await source.topManifest()).digest, v1Manifest);
    } finally {
      await source.close();
    }
    assert.ok((await readFile(saved)).length > 0);
  });
});

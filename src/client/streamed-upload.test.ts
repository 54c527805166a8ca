// A layer compressed in parallel goes up while it is compressed: streamed PATCHes read the growing spool,
// the PUT ?digest= closes the session once the compressor knows the digest. Real Berth, real files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bigLayout, MiB } from '../../test/importer/importer-fixtures.js';
import { startTestServer } from '../../test/support/registry-server.js';
import { tempDir } from '../../test/support/temp.js';
import type { RunningServer } from '../main/server.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { BlobInfoCache } from './blob-info-cache.js';
import { uploadGrowingBlob } from './blob-upload.js';
import type { GrowingSpool } from './growing-spool.js';
import { type CompressionOptions, prepareLayer } from './prepared-blob.js';
import { RegistryClient } from './registry-client.js';
import { openOciLayout } from './sources/oci-layout-source.js';
import { authMiddleware } from './transport/auth-middleware.js';
import { httpTransport } from './transport/http-transport.js';
import { retryMiddleware } from './transport/retry-middleware.js';
import { compose } from './transport/transport.js';
import { UploadState } from './upload-state.js';

/** A TCP proxy in front of Berth that counts the bytes sent upstream. */
class CountingProxy {
  server: Server = createServer();
  sent = 0;
  port = 0;

  constructor(private readonly upstream: number) {
    this.server.on('connection', (client: Socket) => {
      const target = connect(this.upstream, '127.0.0.1');
      client.on('data', (chunk: Buffer) => {
        this.sent += chunk.length;
        target.write(chunk);
      });
      target.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('close', () => target.destroy());
      target.on('close', () => client.destroy());
      client.on('error', () => target.destroy());
      target.on('error', () => client.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
}

let berth: RunningServer;
let proxy: CountingProxy;
let work: string;

before(async () => {
  work = await tempDir({ after });
  berth = await startTestServer({ data: join(work, 'berth') });
  proxy = new CountingProxy(Number(berth.hostPort.split(':')[1]));
  await proxy.listen();
});
after(async () => {
  proxy.server.close();
  await berth.close();
});

function repository(name: string) {
  const base = httpTransport({ tls: () => ({ verify: true }) });
  const transport = compose(
    base,
    retryMiddleware({ baseDelay: 10 }),
    authMiddleware({ credentials: async () => undefined, tokenTransport: base }),
  );
  return {
    repo: new RegistryClient(transport, { allowHttp: () => true }).repository(
      `127.0.0.1:${proxy.port}`,
      name,
    ),
    close: base.close,
  };
}

async function layer(dir: string, size: number) {
  await bigLayout(join(dir, 'layout'), size);
  const source = await openOciLayout(join(dir, 'layout'), 'v1');
  const manifest = JSON.parse((await source.topManifest()).bytes.toString()) as { layers: Descriptor[] };
  return { source, descriptor: manifest.layers[0] as Descriptor };
}

async function stored(name: string, digest: Digest): Promise<Buffer> {
  const res = await fetch(`${berth.url}/v2/${name}/blobs/${digest}`);
  assert.equal(res.status, 200, `${name}@${digest} is stored`);
  return Buffer.from(await res.arrayBuffer());
}

test('the first compressed bytes go up before the compressor is done; the blob arrives whole under its digest', async (t) => {
  const dir = await tempDir(t);
  const { source, descriptor } = await layer(dir, 24 * MiB);
  t.after(() => source.close());
  const cacheDir = join(dir, 'cache');
  const state = await UploadState.open(cacheDir);
  const { repo, close } = repository('stream/app');
  t.after(close);
  let firstBytesWhileCompressing: boolean | undefined;
  let streamedKey = '';
  const options: CompressionOptions = {
    choice: 'gzip',
    level: 1,
    cacheDir,
    cache: await BlobInfoCache.open(cacheDir),
    streamUpload: (spool: GrowingSpool, key: string) => {
      streamedKey = key;
      let compressed = false;
      spool.done.then(
        () => {
          compressed = true;
        },
        () => {},
      );
      return uploadGrowingBlob(repo, spool, key, {
        chunkSize: 4 * MiB,
        smallBlobMax: 0,
        attempts: 3,
        state,
        onBytes: (sent) => {
          if (sent > 0 && firstBytesWhileCompressing === undefined) firstBytesWhileCompressing = !compressed;
        },
      });
    },
  };
  proxy.sent = 0;
  const prepared = await prepareLayer(source, descriptor, options);
  assert.equal(prepared.uploaded, prepared.size, 'the whole blob went up with the compression');
  assert.equal(firstBytesWhileCompressing, true, 'bytes went up before the compressor was done');
  const spooled = Buffer.concat(await (await prepared.open(0)).toArray());
  assert.equal(prepared.digest, `sha256:${createHash('sha256').update(spooled).digest('hex')}`);
  assert.deepEqual(await stored('stream/app', prepared.digest), spooled, 'Berth holds the spool’s bytes');
  assert.ok(proxy.sent < prepared.size * 1.05, `sent once: ${proxy.sent} bytes for ${prepared.size}`);
  assert.equal(
    state.get(repo.host, repo.name, streamedKey as Digest),
    undefined,
    'done: the session is forgotten',
  );
  await prepared.release();
});

test('interrupted while compressing and uploading, a new run compresses again and continues the session', async (t) => {
  const dir = await tempDir(t);
  const { source, descriptor } = await layer(dir, 24 * MiB);
  t.after(() => source.close());
  const cacheDir = join(dir, 'cache');
  const name = 'stream/resume';
  const run = async (state: UploadState, signal?: AbortSignal, onBytes?: (sent: number) => void) => {
    const { repo, close } = repository(name);
    try {
      return await prepareLayer(
        source,
        descriptor,
        {
          choice: 'gzip',
          level: 1,
          cacheDir,
          cache: await BlobInfoCache.open(cacheDir),
          streamUpload: (spool, key) =>
            uploadGrowingBlob(repo, spool, key, {
              chunkSize: 2 * MiB,
              smallBlobMax: 0,
              attempts: 3,
              state,
              ...(signal ? { signal } : {}),
              ...(onBytes ? { onBytes } : {}),
            }),
        },
        signal,
      );
    } finally {
      await close();
    }
  };

  const controller = new AbortController();
  proxy.sent = 0;
  await assert.rejects(
    run(await UploadState.open(cacheDir), controller.signal, (sent) => {
      if (sent >= 8 * MiB) controller.abort(new Error('stopped'));
    }),
  );
  const firstSent = proxy.sent;
  assert.ok(firstSent >= 4 * MiB, `precondition: the first run sent part of the layer (${firstSent} bytes)`);

  // A new process: the session comes back from the state file; compression gives the same bytes again.
  proxy.sent = 0;
  const prepared = await run(await UploadState.open(cacheDir));
  const secondSent = proxy.sent;
  assert.ok(prepared.uploaded !== undefined, 'the second run streamed the layer too');
  assert.ok(
    secondSent < prepared.size - 6 * MiB,
    `the second run sent ${secondSent} bytes of a ${prepared.size}-byte blob: it did not continue`,
  );
  const spooled = Buffer.concat(await (await prepared.open(0)).toArray());
  assert.deepEqual(await stored(name, prepared.digest), spooled);
  await prepared.release();
});

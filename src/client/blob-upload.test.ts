import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { startTestServer } from '../../test/support/registry-server.js';
import { tempDir } from '../../test/support/temp.js';
import type { RunningServer } from '../main/server.js';
import type { Digest } from '../oci/digest.js';
import { uploadBlob } from './blob-upload.js';
import type { PreparedBlob } from './prepared-blob.js';
import { RegistryClient } from './registry-client.js';
import { authMiddleware } from './transport/auth-middleware.js';
import { httpTransport } from './transport/http-transport.js';
import { retryMiddleware } from './transport/retry-middleware.js';
import { compose } from './transport/transport.js';
import { UploadState } from './upload-state.js';

/** A TCP proxy in front of Berth that counts bytes sent upstream and can cut a connection after N bytes. */
class CuttingProxy {
  server: Server = createServer();
  sent = 0;
  cutAfter: number | undefined;
  port = 0;

  constructor(private readonly upstream: number) {
    this.server.on('connection', (client: Socket) => {
      const target = connect(this.upstream, '127.0.0.1');
      let forwarded = 0;
      client.on('data', (chunk: Buffer) => {
        this.sent += chunk.length;
        forwarded += chunk.length;
        if (this.cutAfter !== undefined && forwarded > this.cutAfter) {
          this.cutAfter = undefined;
          client.destroy();
          target.destroy();
          return;
        }
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
let proxy: CuttingProxy;
let cacheDir: string;

before(async () => {
  berth = await startTestServer({ data: await tempDir({ after }) });
  cacheDir = await tempDir({ after });
  proxy = new CuttingProxy(Number(berth.hostPort.split(':')[1]));
  await proxy.listen();
});
after(async () => {
  proxy.server.close();
  await berth.close();
});

function blobOf(bytes: Buffer): PreparedBlob {
  return {
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest,
    size: bytes.length,
    mediaType: 'application/octet-stream',
    rewritten: false,
    async open(offset) {
      // Served in 64 KiB pieces, as a file or socket would.
      const pieces: Buffer[] = [];
      for (let i = offset; i < bytes.length; i += 65536)
        pieces.push(bytes.subarray(i, Math.min(i + 65536, bytes.length)));
      return Readable.from(pieces);
    },
    release: async () => {},
  };
}

function repository() {
  const base = httpTransport({ tls: () => ({ verify: true }) });
  const transport = compose(
    base,
    retryMiddleware({ baseDelay: 10 }),
    authMiddleware({ credentials: async () => undefined, tokenTransport: base }),
  );
  return {
    repo: new RegistryClient(transport, { allowHttp: () => true }).repository(
      `127.0.0.1:${proxy.port}`,
      'resume/app',
    ),
    close: base.close,
  };
}

async function stored(digest: Digest): Promise<Buffer> {
  const res = await fetch(`${berth.url}/v2/resume/app/blobs/${digest}`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

test('a connection cut in the middle of a streamed PATCH: the upload goes on from where the registry stands', async () => {
  const bytes = randomBytes(8 * 1024 * 1024);
  const blob = blobOf(bytes);
  const { repo, close } = repository();
  try {
    await repo.headBlob(blob.digest);
    proxy.sent = 0;
    proxy.cutAfter = 3 * 1024 * 1024;
    const state = await UploadState.open(cacheDir);
    await uploadBlob(repo, blob, { chunkSize: 0, smallBlobMax: 0, attempts: 4, state });
    assert.deepEqual(await stored(blob.digest), bytes);
    assert.ok(
      proxy.sent < bytes.length * 1.1,
      `resumed, not restarted: ${proxy.sent} bytes sent for ${bytes.length}`,
    );
  } finally {
    await close();
  }
});

test('chunked: a cut chunk is sent again from the offset the registry reports', async () => {
  const bytes = randomBytes(6 * 1024 * 1024);
  const blob = blobOf(bytes);
  const { repo, close } = repository();
  try {
    await repo.headBlob(blob.digest);
    proxy.sent = 0;
    proxy.cutAfter = 2.5 * 1024 * 1024;
    const state = await UploadState.open(cacheDir);
    await uploadBlob(repo, blob, { chunkSize: 1024 * 1024, smallBlobMax: 0, attempts: 4, state });
    assert.deepEqual(await stored(blob.digest), bytes);
    assert.ok(proxy.sent < bytes.length * 1.3, `${proxy.sent} bytes sent for ${bytes.length}`);
  } finally {
    await close();
  }
});

test('a push stopped half way and started again continues the saved session', async () => {
  const bytes = randomBytes(8 * 1024 * 1024);
  const blob = blobOf(bytes);
  const state = await UploadState.open(cacheDir);
  const first = repository();
  const controller = new AbortController();
  try {
    await first.repo.headBlob(blob.digest);
    proxy.sent = 0;
    await assert.rejects(
      uploadBlob(first.repo, blob, {
        chunkSize: 1024 * 1024,
        smallBlobMax: 0,
        attempts: 4,
        state,
        signal: controller.signal,
        onBytes: (sent) => {
          if (sent >= 4 * 1024 * 1024) controller.abort(new Error('stopped'));
        },
      }),
    );
  } finally {
    await first.close();
  }
  const afterFirst = proxy.sent;
  // A new process: the state comes back from its file.
  const reopened = await UploadState.open(cacheDir);
  assert.ok(reopened.get(`127.0.0.1:${proxy.port}`, 'resume/app', blob.digest), 'the session was saved');
  const second = repository();
  try {
    await uploadBlob(second.repo, blob, {
      chunkSize: 1024 * 1024,
      smallBlobMax: 0,
      attempts: 4,
      state: reopened,
    });
    assert.deepEqual(await stored(blob.digest), bytes);
    const secondSent = proxy.sent - afterFirst;
    assert.ok(secondSent < bytes.length * 0.7, `the second run sent ${secondSent} of ${bytes.length} bytes`);
    assert.equal(
      reopened.get(`127.0.0.1:${proxy.port}`, 'resume/app', blob.digest),
      undefined,
      'done: forgotten',
    );
  } finally {
    await second.close();
  }
});

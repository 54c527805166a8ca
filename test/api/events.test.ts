// Events (issue 13): push, tag, delete, mount written in the change's own transaction, pulls in batches;
// /api/v1/events keyset pages and filters, the SSE stream, pruning; request ids; /metrics.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ManualClock } from '../../src/clock/clock.js';
import { pruneEvents } from '../../src/events/event-retention.js';
import type { RunningServer } from '../../src/main/server.js';
import { MediaType } from '../../src/oci/media-types.js';
import { makeImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';
import { requireTools } from '../support/tool-gate.js';

interface EventJson {
  id: number;
  type: string;
  at: string;
  repository?: string;
  project?: string;
  digest?: string;
  tag?: string;
  actor?: string;
  payload?: Record<string, unknown>;
}

let server: RunningServer;
let client: TestClient;
let data: string;
const clock = new ManualClock(Date.UTC(2026, 5, 1));
const scope = fileScope();

async function events(query = ''): Promise<{ events: EventJson[]; next?: number }> {
  const res = await fetch(`${server.url}/api/v1/events${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { events: EventJson[]; next?: number };
}

const summary = (list: EventJson[]) =>
  list.map((e) => [e.type, e.repository, e.tag ?? e.digest?.slice(0, 13)]);

before(async () => {
  data = await tempDir(scope);
  server = await startTestServer({ data, clock });
  client = new TestClient(server.url);
});

after(() => server?.close());

describe('events are written with the change they describe', { concurrency: 1 }, () => {
  const image = makeImage();
  const manifestDigest = image.manifest.digest;

  test('a push by tag is one push event; tags added with ?tag= are tag events', async () => {
    const before = (await events()).events.length;
    await client.pushImage('team/app', 'v1', image);
    const put = await client.request('PUT', `/v2/team/app/manifests/${manifestDigest}?tag=v2&tag=v3`, {
      body: image.manifest.bytes,
      headers: { 'Content-Type': image.mediaType },
    });
    assert.equal(put.status, 201);
    const list = (await events()).events.slice(before);
    assert.deepEqual(
      list.map((e) => [e.type, e.repository, e.project, e.digest, e.tag ?? null]),
      [
        ['push', 'team/app', 'team', manifestDigest, 'v1'],
        ['push', 'team/app', 'team', manifestDigest, null],
        ['tag', 'team/app', 'team', manifestDigest, 'v2'],
        ['tag', 'team/app', 'team', manifestDigest, 'v3'],
      ],
    );
    assert.equal(list[0]?.at, new Date(clock.now()).toISOString());
    assert.deepEqual(list[0]?.payload, { mediaType: MediaType.ociManifest });
  });

  test('a push the registry refuses records nothing', async () => {
    const before = (await events()).events.length;
    const orphan = makeImage();
    const res = await client.pushManifest('team/app', 'broken', orphan.manifest, orphan.mediaType);
    assert.equal(res.status, 400);
    assert.equal((await events()).events.length, before);
  });

  test('a refused delete (a tag still needs the manifest) rolls its event back with it', async () => {
    const before = (await events()).events.length;
    const config = image.config.digest;
    const res = await client.request('DELETE', `/v2/team/app/blobs/${config}`);
    assert.equal(res.status, 403);
    assert.equal((await events()).events.length, before);
  });

  test('pulls are noted and written in one batch by a flush, not one write per request', async () => {
    const before = (await events('?type=pull')).events.length;
    for (let i = 0; i < 3; i++) {
      const res = await client.request('GET', '/v2/team/app/manifests/v1', {
        headers: { accept: image.mediaType },
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    // A HEAD is no pull.
    await (await client.request('HEAD', '/v2/team/app/manifests/v1')).arrayBuffer();
    assert.equal(server.pullEvents?.waiting, 3);
    assert.equal((await events('?type=pull')).events.length, before, 'nothing written before the flush');
    await server.pullEvents?.flush();
    const pulls = (await events('?type=pull')).events.slice(before);
    assert.deepEqual(summary(pulls), Array(3).fill(['pull', 'team/app', 'v1']));
    assert.equal(pulls[0]?.digest, manifestDigest);
  });

  test('a mount and deletes of a tag and a manifest are events', async () => {
    const before = (await events()).events.length;
    const layer = image.layers[0]?.digest as string;
    const mount = await client.request('POST', `/v2/team/other/blobs/uploads/?mount=${layer}&from=team/app`);
    assert.equal(mount.status, 201);
    assert.equal((await client.request('DELETE', '/v2/team/app/manifests/v3')).status, 202);
    assert.equal((await client.request('DELETE', `/v2/team/app/manifests/${manifestDigest}`)).status, 202);
    const list = (await events()).events.slice(before);
    assert.deepEqual(
      list.map((e) => [e.type, e.repository, e.tag ?? e.digest, e.payload ?? null]),
      [
        ['mount', 'team/other', layer, { from: 'team/app' }],
        ['delete', 'team/app', 'v3', null],
        ['delete', 'team/app', manifestDigest, { kind: 'manifest' }],
      ],
    );
  });
});

describe('/api/v1/events', { concurrency: 1 }, () => {
  test('pages by id: next leads to the following page, with nothing repeated or skipped', async () => {
    const all = (await events('?limit=1000')).events;
    assert.ok(all.length >= 5);
    const seen: number[] = [];
    let query = '?limit=2';
    for (;;) {
      const page = await events(query);
      seen.push(...page.events.map((e) => e.id));
      if (page.next === undefined) break;
      query = `?limit=2&after=${page.next}`;
    }
    assert.deepEqual(
      seen,
      all.map((e) => e.id),
    );
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      seen,
    );
  });

  test('filters by type, repository glob and time', async () => {
    await client.pushImage('other/thing', 'latest', makeImage());
    const pushes = (await events('?type=push&repository=team/*')).events;
    assert.ok(pushes.length >= 2);
    assert.ok(pushes.every((e) => e.type === 'push' && e.repository === 'team/app'));
    const several = (await events('?type=mount,delete')).events;
    assert.deepEqual([...new Set(several.map((e) => e.type))].sort(), ['delete', 'mount']);
    clock.advance(60_000);
    const since = new Date(clock.now()).toISOString();
    assert.deepEqual((await events(`?since=${encodeURIComponent(since)}`)).events, []);
    await client.pushImage('other/thing', 'later', makeImage());
    assert.deepEqual(summary((await events(`?since=${encodeURIComponent(since)}`)).events), [
      ['push', 'other/thing', 'later'],
    ]);
  });

  test('bad filters are 400 INVALID naming the field', async () => {
    for (const query of [
      '?type=explosion',
      '?repository=UPPER',
      '?since=yesterday',
      '?limit=0',
      '?limit=5000',
    ]) {
      const res = await fetch(`${server.url}/api/v1/events${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { errors: { code: string }[] };
      assert.equal(body.errors[0]?.code, 'INVALID', query);
    }
  });

  test('the stream (SSE) delivers a push made after it opened', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/v1/events/stream?type=push`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The stream's first comment says it is following: only then is the push "after it opened".
    while (!text.includes(': following')) text += decoder.decode((await reader.read()).value);
    await client.pushImage('team/streamed', 'live', makeImage());
    while (!text.includes('"repository":"team/streamed"')) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, 'stream ended early');
      text += decoder.decode(chunk.value);
    }
    const frame = text.split('\n\n').find((f) => f.includes('team/streamed')) as string;
    assert.match(frame, /^id: \d+\nevent: push\ndata: \{/);
    controller.abort();
    await reader.cancel().catch(() => {});
  });
});

describe('event retention', () => {
  test('pruning keeps maxCount newest and nothing older than maxAge', async () => {
    const store = server.metadata.events;
    const total = (await store.list({ limit: 10_000 })).length;
    assert.ok(total > 3);
    assert.equal(await pruneEvents(store, { maxAge: 0, maxCount: 3 }, clock.now()), total - 3);
    const left = await store.list({ limit: 100 });
    assert.equal(left.length, 3);
    clock.advance(3600_000);
    assert.equal(await pruneEvents(store, { maxAge: 3599, maxCount: 0 }, clock.now()), 3);
    assert.deepEqual(await store.list({ limit: 100 }), []);
    // Ids never go back: a follower resuming after the last id it saw misses nothing new.
    await client.pushImage('team/after-prune', 'x', makeImage());
    const [next] = await store.list({ limit: 100 });
    assert.ok((next?.id ?? 0) > (left.at(-1)?.id ?? 0));
  });
});

describe('request ids', () => {
  test('every answer carries X-Request-Id; a sane incoming one is kept, anything else replaced', async () => {
    const plain = await fetch(`${server.url}/v2/`);
    assert.match(plain.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const given = await fetch(`${server.url}/v2/`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(given.headers.get('x-request-id'), 'trace-abc.123');
    for (const bad of ['x'.repeat(129), 'has space', 'ünicode']) {
      const res = await fetch(`${server.url}/v2/nope/manifests/x`, {
        headers: { 'x-request-id': encodeURIComponent(bad) === bad ? bad : bad },
      }).catch(() => undefined);
      if (!res) continue; // fetch refuses some header values itself
      assert.notEqual(res.headers.get('x-request-id'), bad);
      assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    }
  });
});

describe('/metrics', () => {
  test('counts requests by route family, pushes and pulls by project, storage per project', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /berth_http_requests_total\{family="v2_manifests",method="PUT",status="201"\} \d+/);
    assert.match(text, /berth_http_request_duration_seconds_bucket\{le="[^"]+",family="v2_blobs"/);
    assert.match(text, /berth_pushes_total\{project="team"\} \d+/);
    assert.match(text, /berth_pulls_total\{project="team"\} 3/);
    assert.match(text, /berth_storage_bytes\{project="other"\} [1-9]\d*/);
    assert.match(text, /berth_http_received_bytes_total\{family="v2_uploads"\} [1-9]/);
    assert.match(text, /process_resident_memory_bytes/);
    // No digest, tag or repository ever appears as a label value.
    assert.doesNotMatch(text, /sha256:|team\/app|"v1"/);
  });

  test('promtool accepts the output', async (t) => {
    const gate = await requireTools('promtool');
    if (gate.skip) return t.skip(gate.skip);
    gate.assertAvailable();
    const file = join(data, 'metrics.txt');
    await writeFile(file, await (await fetch(`${server.url}/metrics`)).text());
    const run = promisify(execFile);
    // promtool reads the metrics on standard input.
    const { stdout, stderr } = await run('sh', ['-c', `promtool check metrics < "${file}"`]).catch(
      (error: { stdout: string; stderr: string }) => {
        assert.fail(`promtool: ${error.stdout}${error.stderr}`);
      },
    );
    assert.equal(`${stdout}${stderr}`.trim(), '');
  });
});

describe('/metrics with a token', () => {
  let protectedServer: RunningServer;
  before(async () => {
    protectedServer = await startTestServer({
      data: await tempDir(scope),
      config: { 'metrics.token': 'scrape-secret' },
    });
  });
  after(() => protectedServer?.close());

  test('needs the bearer token, on loopback too', async () => {
    const none = await fetch(`${protectedServer.url}/metrics`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${protectedServer.url}/metrics`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${protectedServer.url}/metrics`, {
      headers: { authorization: 'Bearer scrape-secret' },
    });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /berth_http_requests_total/);
  });

  test('metrics.enabled: false registers no /metrics', async () => {
    const off = await startTestServer({ data: await tempDir(scope), config: { 'metrics.enabled': false } });
    try {
      assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
    } finally {
      await off.close();
    }
  });
});

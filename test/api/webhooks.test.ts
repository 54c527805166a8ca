// Webhooks (issue 13): endpoints per project through /api/v1/projects/{project}/webhooks, deliveries from
// the durable queue to receivers of this test's own on loopback: one that answers, one down for a while,
// one slow, one checking the signature; retries on a ManualClock, turning off after failures, redelivery.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock/clock.js';
import type { NewEvent } from '../../src/events/event-log.js';
import { checkWebhookUrl } from '../../src/jobs/webhook-delivery.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/jobs/webhook-policy.js';
import type { RunningServer } from '../../src/main/server.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN = { name: 'admin', password: 'admin-password-1' };
const clock = new ManualClock(Date.UTC(2026, 5, 1));
let server: RunningServer;

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on a loopback port: records what it gets; `answer` decides the status (or holds the reply). */
class Receiver {
  readonly received: Received[] = [];
  answer: (r: Received) => Promise<number> | number = () => 200;
  private server: Server | undefined;
  port = 0;

  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', async () => {
        const got = { headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
        this.received.push(got);
        res.statusCode = await this.answer(got);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  eventIds(): number[] {
    return this.received.map((r) => (JSON.parse(r.body) as { id: number }).id);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, checked field by field
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, server.url), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${ADMIN.name}:${ADMIN.password}`).toString('base64')}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function addWebhook(
  project: string,
  body: Record<string, unknown>,
): Promise<{ id: number; secret: string }> {
  const res = await api('POST', `/api/v1/projects/${project}/webhooks`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

function events(project: string, count: number, type: NewEvent['type'] = 'push'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type,
    at: clock.now(),
    project,
    repository: `${project}/app`,
    tag: `v${i}`,
    actor: 'admin',
  }));
}

/** Runs passes until nothing is due now (each pass sends at most `concurrency` per endpoint). */
async function drain(): Promise<void> {
  const dispatcher = server.webhooks;
  assert.ok(dispatcher);
  for (let i = 0; i < 20; i++) {
    await dispatcher.tick();
    await dispatcher.settle();
    if ((await server.metadata.webhooks.due(clock.now(), 1)).length === 0) return;
  }
  assert.fail('deliveries still due after 20 passes');
}

before(async () => {
  server = await startTestServer({
    data: await tempDir(fileScope()),
    clock,
    adminPassword: ADMIN.password,
    config: {
      'auth.mode': 'token',
      // The tests' receivers are on loopback; the refusal of internal addresses is tested below.
      'webhooks.allowPrivateTargets': true,
      'webhooks.baseDelay': 1000,
      'webhooks.maxDelay': 8000,
      'webhooks.maxAttempts': 6,
      'webhooks.disableAfter': 8,
      // The tests run the passes themselves.
      'webhooks.pollInterval': 60_000,
    },
  });
  for (const name of ['team', 'other', 'slow', 'flaky'])
    assert.equal((await api('POST', '/api/v1/projects', { name })).status, 201);
});

after(() => server?.close());

describe('webhooks', { concurrency: 1 }, () => {
  test('a receiver that answers gets each event of its project and types once, signed', async () => {
    const receiver = new Receiver();
    await receiver.listen();
    try {
      const hook = await addWebhook('team', { url: receiver.url, events: ['push', 'delete'] });
      assert.match(hook.secret, /^[0-9a-f]{64}$/);
      const before = await server.metadata.events.lastId();
      await server.metadata.events.record([
        ...events('team', 3),
        ...events('team', 1, 'tag'),
        ...events('other', 2),
      ]);
      await drain();
      assert.deepEqual(receiver.eventIds(), [before + 1, before + 2, before + 3]);
      for (const got of receiver.received) {
        const header = String(got.headers[SIGNATURE_HEADER]);
        assert.ok(verifySignature(hook.secret, header, got.body, Math.floor(clock.now() / 1000), 300));
        assert.ok(
          !verifySignature('another-secret-0123', header, got.body, Math.floor(clock.now() / 1000), 300),
        );
        // An old timestamp (a replay) is refused even with the right secret.
        assert.ok(
          !verifySignature(hook.secret, header, got.body, Math.floor(clock.now() / 1000) + 3600, 300),
        );
        assert.equal(got.headers['content-type'], 'application/json');
        assert.equal(got.headers['berth-event'], 'push');
      }
      const body = JSON.parse(receiver.received[0]?.body ?? '{}');
      assert.deepEqual(
        { type: body.type, project: body.project, repository: body.repository, tag: body.tag },
        { type: 'push', project: 'team', repository: 'team/app', tag: 'v0' },
      );
      const log = await api('GET', `/api/v1/projects/team/webhooks/${hook.id}/deliveries`);
      assert.equal(log.status, 200);
      assert.deepEqual(
        log.body.deliveries.map((d: { state: string; attempt: number; status: number }) => [
          d.state,
          d.attempt,
          d.status,
        ]),
        [
          ['delivered', 1, 200],
          ['delivered', 1, 200],
          ['delivered', 1, 200],
        ],
      );
      assert.ok(log.body.deliveries.every((d: { responseMs: number }) => d.responseMs >= 0));
      // Removing the endpoint stops its deliveries.
      assert.equal((await api('DELETE', `/api/v1/projects/team/webhooks/${hook.id}`)).status, 204);
      await server.metadata.events.record(events('team', 1));
      await drain();
      assert.equal(receiver.received.length, 3);
    } finally {
      await receiver.close();
    }
  });

  test('CloudEvents 1.0 structured mode', async () => {
    const receiver = new Receiver();
    await receiver.listen();
    try {
      const hook = await addWebhook('other', { url: receiver.url, format: 'cloudevents' });
      await server.metadata.events.record(events('other', 1, 'delete'));
      await drain();
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0];
      assert.equal(got?.headers['content-type'], 'application/cloudevents+json');
      const ce = JSON.parse(got?.body ?? '{}');
      assert.equal(ce.specversion, '1.0');
      assert.equal(ce.type, 'io.berth.delete');
      assert.equal(ce.source, '/berth/projects/other');
      assert.equal(ce.subject, 'other/app');
      assert.equal(ce.data.type, 'delete');
      assert.equal(typeof ce.id, 'string');
      await api('DELETE', `/api/v1/projects/other/webhooks/${hook.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('a receiver down for a while gets every event exactly once after the retries run', async () => {
    const receiver = new Receiver();
    await receiver.listen();
    const port = receiver.port;
    await receiver.close();
    const hook = await addWebhook('flaky', { url: `http://127.0.0.1:${port}/hook` });
    const before = await server.metadata.events.lastId();
    await server.metadata.events.record(events('flaky', 3));
    await drain();
    // Nothing reached it; every delivery is pending with a retry time in the future.
    const pending = await api('GET', `/api/v1/projects/flaky/webhooks/${hook.id}/deliveries`);
    assert.deepEqual(
      pending.body.deliveries.map((d: { state: string; attempt: number }) => [d.state, d.attempt]),
      [
        ['pending', 1],
        ['pending', 1],
        ['pending', 1],
      ],
    );
    assert.ok(pending.body.deliveries.every((d: { error?: string }) => d.error));
    // The first retry waits between baseDelay/2 and baseDelay: not yet due just short of half of it.
    clock.advance(499);
    assert.equal((await server.metadata.webhooks.due(clock.now(), 10)).length, 0);
    // Still down at the first retry: a second failed attempt, backing off further.
    clock.advance(501);
    await drain();
    await receiver.listen(port);
    try {
      clock.advance(2000);
      await drain();
      assert.deepEqual(
        receiver.eventIds().sort((a, b) => a - b),
        [before + 1, before + 2, before + 3],
      );
      const log = await api('GET', `/api/v1/projects/flaky/webhooks/${hook.id}/deliveries`);
      assert.deepEqual(
        log.body.deliveries.map((d: { state: string; attempt: number }) => [d.state, d.attempt]),
        [
          ['delivered', 3],
          ['delivered', 3],
          ['delivered', 3],
        ],
      );
      const listed = await api('GET', '/api/v1/projects/flaky/webhooks');
      assert.equal(listed.body.webhooks[0].failures, 0);
      assert.equal(listed.body.webhooks[0].secret, undefined);
      // Manual redelivery sends the event again.
      const first = log.body.deliveries[0];
      const redo = await api(
        'POST',
        `/api/v1/projects/flaky/webhooks/${hook.id}/deliveries/${first.id}/redeliver`,
      );
      assert.equal(redo.status, 202);
      await drain();
      assert.equal(receiver.received.length, 4);
      assert.equal(receiver.received[3]?.headers['berth-attempt'], '4');
      await api('DELETE', `/api/v1/projects/flaky/webhooks/${hook.id}`);
    } finally {
      await receiver.close();
    }
  });

  test('a slow receiver holds only its own slots (per-endpoint concurrency), never the others', async () => {
    const slow = new Receiver();
    const quick = new Receiver();
    await slow.listen();
    await quick.listen();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    slow.answer = async () => {
      await held;
      return 200;
    };
    try {
      const slowHook = await addWebhook('slow', { url: slow.url });
      const quickHook = await addWebhook('slow', { url: quick.url });
      await server.metadata.events.record(events('slow', 3));
      const dispatcher = server.webhooks;
      assert.ok(dispatcher);
      // Passes return while the slow receiver holds its replies: the quick one gets everything.
      // Each wait yields to I/O between passes (the receivers answer on this same event loop).
      const until = async (done: () => boolean): Promise<void> => {
        for (let i = 0; i < 2000 && !done(); i++) {
          await dispatcher.tick();
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        assert.ok(done());
      };
      await until(() => quick.received.length >= 3 && slow.received.length >= 2);
      // The slow endpoint has at most `concurrency` (2) requests in flight.
      await dispatcher.tick();
      assert.equal(slow.received.length, 2);
      release();
      await drain();
      assert.equal(slow.received.length, 3);
      for (const id of [slowHook.id, quickHook.id])
        await api('DELETE', `/api/v1/projects/slow/webhooks/${id}`);
    } finally {
      release();
      await slow.close();
      await quick.close();
    }
  });

  test('an endpoint failing again and again is turned off, with an event saying so', async () => {
    const receiver = new Receiver();
    await receiver.listen();
    receiver.answer = () => 500;
    try {
      const hook = await addWebhook('flaky', { url: receiver.url, events: ['push'] });
      await server.metadata.events.record(events('flaky', 2));
      for (let i = 0; i < 6; i++) {
        await drain();
        clock.advance(8000);
      }
      // disableAfter is 8: the eighth failed attempt in a row turned it off, and no attempt followed.
      assert.equal(receiver.received.length, 8);
      const listed = await api('GET', '/api/v1/projects/flaky/webhooks');
      assert.deepEqual([listed.body.webhooks[0].enabled, listed.body.webhooks[0].failures], [false, 8]);
      const off = (await server.metadata.events.list({ limit: 10, types: ['webhook_disabled'] })).at(-1);
      assert.equal(off?.project, 'flaky');
      assert.deepEqual(off?.payload, { webhook: hook.id, url: receiver.url, failures: 8 });
    } finally {
      await receiver.close();
    }
  });

  test('only http(s) URLs, and no internal addresses unless the config allows them', async () => {
    for (const url of ['ftp://example.com/x', 'not a url', 'http://user:pw@example.com/'])
      assert.equal((await api('POST', '/api/v1/projects/team/webhooks', { url })).status, 400, url);
    for (const url of [
      'http://127.0.0.1/x',
      'http://localhost:8080/',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/',
      'http://192.168.1.1/',
      'http://[::ffff:127.0.0.1]/',
    ])
      await assert.rejects(checkWebhookUrl(url, false), /internal address/, url);
    await checkWebhookUrl('http://93.184.216.34/', false);
    await checkWebhookUrl('http://127.0.0.1/', true);
    assert.equal(
      (await api('POST', '/api/v1/projects/team/webhooks', { url: 'http://x/', events: ['nope'] })).status,
      400,
    );
    assert.equal((await api('GET', '/api/v1/projects/nothere/webhooks')).status, 404);
    assert.equal((await api('DELETE', '/api/v1/projects/team/webhooks/99999')).status, 404);
  });
});

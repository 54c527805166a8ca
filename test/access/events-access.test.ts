// Who sees which events: a caller sees the events of repositories it may pull, an admin all, nobody without
// credentials; the stream applies the same rule. /metrics reads no credentials (loopback decides, or a token).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addRobot,
  addUser,
  basic,
  bootstrapAdmin,
} from '../support/access-fixtures.js';
import { makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

let server: RunningServer;
let admin: Account;
let dev: Account;
let outsider: Account;
let robot: Account;

before(async () => {
  server = await startTestServer({ data: await tempDir(fileScope()), config: { 'auth.mode': 'token' } });
  admin = bootstrapAdmin(server);
  await addProject(server, 'team', false);
  await addProject(server, 'secret', false);
  await addProject(server, 'open', true);
  dev = await addUser(server, 'ev-dev', 'pw-ev-dev-1');
  outsider = await addUser(server, 'ev-outsider', 'pw-ev-outsider-1');
  robot = await addRobot(server, 'robot$ev-ci', [{ repo: 'secret/*', actions: ['pull'] }]);
  await addMember(server, 'team', dev, 'developer');
  const pusher = new AuthorizedClient(server.url, basic(admin));
  await pusher.pushImage('team/app', 'v1', makeImage());
  await pusher.pushImage('secret/app', 'v1', makeImage());
  await pusher.pushImage('open/app', 'v1', makeImage());
});

after(() => server?.close());

async function repositoriesSeen(authorization: string | undefined): Promise<number | string[]> {
  const res = await fetch(`${server.url}/api/v1/events?type=push`, {
    headers: authorization ? { authorization } : {},
  });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return res.status;
  }
  const body = (await res.json()) as { events: { repository: string; actor?: string }[] };
  return body.events.map((e) => e.repository).sort();
}

test('each caller sees the events of the repositories it may pull', async () => {
  assert.equal(await repositoriesSeen(undefined), 401);
  assert.equal(await repositoriesSeen(basic({ name: 'ev-dev', password: 'wrong-password' })), 401);
  assert.deepEqual(await repositoriesSeen(basic(admin)), ['open/app', 'secret/app', 'team/app']);
  assert.deepEqual(await repositoriesSeen(basic(dev)), ['open/app', 'team/app']);
  assert.deepEqual(await repositoriesSeen(basic(outsider)), ['open/app']);
  assert.deepEqual(await repositoriesSeen(basic(robot)), ['open/app', 'secret/app']);
});

test('events name who pushed', async () => {
  const res = await fetch(`${server.url}/api/v1/events?type=push&repository=team/*`, {
    headers: { authorization: basic(admin) },
  });
  const body = (await res.json()) as { events: { actor?: string }[] };
  assert.deepEqual(
    body.events.map((e) => e.actor),
    ['admin'],
  );
});

test('the stream: 401 without credentials; a user is streamed only what it may pull', async () => {
  const anonymous = await fetch(`${server.url}/api/v1/events/stream`);
  assert.equal(anonymous.status, 401);
  await anonymous.arrayBuffer();
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/v1/events/stream?after=0&type=push`, {
    headers: { authorization: basic(dev) },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const pusher = new AuthorizedClient(server.url, basic(admin));
  await pusher.pushImage('secret/later', 'v1', makeImage());
  // The marker comes last: once it arrives, everything before it in id order was considered.
  await pusher.pushImage('team/marker', 'v1', makeImage());
  while (!text.includes('team/marker')) {
    const chunk = await reader.read();
    assert.ok(!chunk.done);
    text += decoder.decode(chunk.value);
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  assert.ok(text.includes('"repository":"team/app"'));
  assert.ok(text.includes('"repository":"open/app"'));
  assert.ok(!text.includes('secret/'), 'no event of a repository the user may not pull');
});

test('/metrics reads no credentials: on loopback without a token every caller gets the same 200', async () => {
  for (const authorization of [undefined, basic(dev), basic({ name: 'x', password: 'wrong-password' })]) {
    const res = await fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /ev-dev|admin"/);
  }
});

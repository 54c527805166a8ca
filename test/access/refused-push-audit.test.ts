// Issue 17: "The audit log records a refused push as a push, not a pull." A push begins with a token asked for
// `pull,push` and a blob HEAD, which is only a pull: when the account may do neither, the HEAD's 403 was the
// only trace, audited as a refused pull. The token endpoint now audits each requested action it leaves out,
// so the refused push is in the log as a push, where the client declared it.
//
// Reproduction: curl -u 'robot$ci:SECRET' "$R/token?service=berth-registry&scope=repository:other/app:pull,push"
//   curl -I -H "Authorization: Bearer $T" $R/v2/other/app/blobs/sha256:…   # 403; the audit said only "pull"
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { addProject, addRobot, auditRows, getToken, requestToken } from '../support/access-fixtures.js';
import { randomBlob } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

let server: RunningServer;
const cleanups: (() => unknown)[] = [];
before(async () => {
  const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-push-audit-');
  server = await startTestServer({ data, config: { 'auth.mode': 'token' } });
  cleanups.push(() => server.close());
  await addProject(server, 'team', false);
  await addProject(server, 'other', false);
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const denials = async (actor: string) =>
  (await auditRows(server, actor))
    .filter((r) => r.event === 'access.denied')
    .map((r) => ({ repository: r.repository, action: r.action }));

test('a push refused before any push request (robot$ci to other/app) is audited as a push', async () => {
  const robot = await addRobot(server, 'robot$ci', [{ repo: 'team/**', actions: ['pull', 'push'] }]);
  const token = await getToken(server.url, robot, ['repository:other/app:pull,push']);
  const head = await fetch(`${server.url}/v2/other/app/blobs/${randomBlob(16).digest}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(head.status, 403);
  const rows = await denials('robot$ci');
  assert.ok(
    rows.some((r) => r.repository === 'other/app' && r.action === 'push'),
    `no refused push in ${JSON.stringify(rows)}`,
  );
  // Allowed scopes leave nothing: a robot's own push to team/app is not a denial.
  await getToken(server.url, robot, ['repository:team/app:pull,push']);
  assert.ok((await denials('robot$ci')).every((r) => r.repository !== 'team/app'));
});

test('anonymous token requests leave no audit rows (nobody to name, and free to repeat)', async () => {
  const before = (await auditRows(server)).length;
  assert.equal((await requestToken(server.url, undefined, ['repository:other/app:pull,push'])).status, 200);
  assert.equal((await auditRows(server)).length, before);
});

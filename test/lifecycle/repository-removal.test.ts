// Issue 12: `berth rm --repository` removes a repository's tags, manifests and blob links in one go (GC then
// frees the bytes nothing else references), refused while an immutability rule holds one of its tags; and
// `berth storage usage` / `/api/v1/storage` report per project and repository. Real server, access checks
// on, images pushed by the test client and copied between repositories with skopeo.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import { assertOk, assertOneLineFailure, berth, berthEnv } from '../importer/importer-fixtures.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addUser,
  auditRows,
  basic,
} from '../support/access-fixtures.js';
import { type ClientEnv, makeClientEnv, requireTools, skopeo } from '../support/containers.js';
import { makeImage, type TestImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo');
const ADMIN: Account = { name: 'admin', password: 'admin-password-1' };
const HOUR = 3_600_000;
const scope = fileScope();

interface RepoUsage {
  repository: string;
  logicalBytes: number;
  blobs: number;
  manifests: number;
  tags: number;
  uploads: number;
}
interface Usage {
  projects: {
    project: string;
    logicalBytes: number;
    uniqueBytes: number;
    uniqueBlobs: number;
    uploads: number;
    repositories: RepoUsage[];
  }[];
  store?: { blobs: number; bytes: number };
}

const bytesOf = (image: TestImage) =>
  [image.config, ...image.layers].reduce((sum, b) => sum + b.bytes.length, 0);

describe('deleting a repository, storage usage', { skip: gate.skip }, () => {
  let server: RunningServer;
  let work: string;
  let client: ClientEnv;
  let alice: Account; // team's project-admin
  let bob: Account; // team's developer
  let carol: Account; // no member of team
  let image: TestImage;
  let own: TestImage;
  const clock = new ManualClock(Date.now());
  const api = (account: Account, method: string, path: string, body?: unknown) =>
    fetch(new URL(`/api/v1/${path}`, server.url), {
      method,
      headers: {
        authorization: basic(account),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const usageOf = async (account: Account, query = ''): Promise<Usage> => {
    const res = await api(account, 'GET', `storage${query}`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text) as Usage;
  };

  before(async () => {
    work = await tempDir(scope, 'berth-repository-removal-');
    server = await startTestServer({
      data: join(work, 'data'),
      config: { 'auth.mode': 'token' },
      adminPassword: ADMIN.password,
      clock,
    });
    client = await makeClientEnv(join(work, 'client'), server.hostPort);
    alice = await addUser(server, 'alice', 'alice-password');
    bob = await addUser(server, 'bob', 'bob-password');
    carol = await addUser(server, 'carol', 'carol-password');
    await addProject(server, 'team', false);
    await addMember(server, 'team', alice, 'project-admin');
    await addMember(server, 'team', bob, 'developer');
    const pusher = new AuthorizedClient(server.url, basic(bob));
    image = makeImage({ layers: [4096, 2048] });
    own = makeImage({ layers: [1024] });
    await pusher.pushImage('team/app', 'v1', image);
    await pusher.pushImage('team/app', 'v2', image);
    await pusher.pushImage('team/app', 'own', own);
    // skopeo copies v1 to another repository of the project: the same blobs, linked twice.
    await skopeo(client, [
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `--src-creds=bob:bob-password`,
      `--dest-creds=bob:bob-password`,
      `docker://${server.hostPort}/team/app:v1`,
      `docker://${server.hostPort}/team/other:v1`,
    ]);
    // An open upload session.
    const opened = await pusher.request('POST', '/v2/team/app/blobs/uploads/');
    assert.equal(opened.status, 202, await opened.text());
  });
  after(() => server?.close());

  test('usage: logical per repository, shared blobs once per project, uploads; who sees what', async () => {
    const usage = await usageOf(ADMIN);
    const team = usage.projects.find((p) => p.project === 'team');
    assert.ok(team, JSON.stringify(usage));
    const app = team.repositories.find((r) => r.repository === 'team/app');
    const other = team.repositories.find((r) => r.repository === 'team/other');
    assert.ok(app && other, JSON.stringify(team));
    assert.deepEqual(
      [app.blobs, app.manifests, app.tags, app.uploads],
      [image.layers.length + 1 + own.layers.length + 1, 2, 3, 1],
    );
    assert.deepEqual(
      [other.blobs, other.manifests, other.tags, other.uploads],
      [image.layers.length + 1, 1, 1, 0],
    );
    assert.ok(app.logicalBytes > bytesOf(image) + bytesOf(own), `${app.logicalBytes}`);
    assert.equal(team.logicalBytes, app.logicalBytes + other.logicalBytes);
    // Blobs shared by team/app and team/other count once.
    assert.equal(team.uniqueBytes, bytesOf(image) + bytesOf(own));
    assert.equal(team.uniqueBlobs, image.layers.length + 1 + own.layers.length + 1);
    assert.equal(team.uploads, 1);
    assert.ok(usage.store && usage.store.bytes >= team.uniqueBytes, JSON.stringify(usage.store));

    // A project member sees the project but not the store's totals; a non-member sees nothing of it.
    const byBob = await usageOf(bob);
    assert.deepEqual(
      byBob.projects.map((p) => p.project),
      ['team'],
    );
    assert.equal(byBob.store, undefined);
    assert.deepEqual((await usageOf(carol)).projects, []);
    const hidden = await api(carol, 'GET', 'storage?project=team');
    assert.equal(hidden.status, 404, await hidden.text());
    assert.equal((await usageOf(alice, '?project=team')).projects[0]?.uniqueBytes, team.uniqueBytes);
    const bad = await api(alice, 'GET', 'storage?project=Not_A_Project!');
    assert.equal(bad.status, 400, await bad.text());
  });

  test('only system admins and project-admins delete; an immutable tag refuses it, naming the rule', async () => {
    assert.equal((await api(bob, 'DELETE', 'repositories/team/app')).status, 403);
    assert.equal((await api(carol, 'DELETE', 'repositories/team/app')).status, 404);
    const anonymous = await fetch(new URL('/api/v1/repositories/team/app', server.url), { method: 'DELETE' });
    assert.equal(anonymous.status, 401);
    const ruled = await api(alice, 'POST', 'projects/team/immutability', { repository: 'app', tag: 'v*' });
    assert.equal(ruled.status, 201);
    const { id } = (await ruled.json()) as { id: number };
    const refused = await api(alice, 'DELETE', 'repositories/team/app');
    const text = await refused.text();
    assert.equal(refused.status, 403, text);
    assert.match(text, new RegExp(`immutability rule ${id}\\b`));
    assert.equal((await api(alice, 'DELETE', `projects/team/immutability/${id}`)).status, 204);
    // Still there, whole.
    const tags = await new AuthorizedClient(server.url, basic(bob)).request('GET', '/v2/team/app/tags/list');
    assert.equal(tags.status, 200, await tags.text());
  });

  test('a project-admin deletes it; the other repository still pulls with skopeo; GC frees only its own blobs', async () => {
    const res = await api(alice, 'DELETE', 'repositories/team/app');
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), {
      repository: 'team/app',
      tags: 3,
      manifests: 2,
      blobLinks: image.layers.length + 1 + own.layers.length + 1,
    });
    assert.equal((await api(alice, 'DELETE', 'repositories/team/app')).status, 404);
    const audit = (await auditRows(server, 'alice')).map((r) => r.event);
    assert.ok(audit.includes('repository.deleted'), `${audit}`);

    const reader = new AuthorizedClient(server.url, basic(bob));
    const gone = await reader.request('GET', '/v2/team/app/tags/list');
    assert.equal(gone.status, 404, await gone.text());
    const usage = await usageOf(ADMIN);
    const team = usage.projects.find((p) => p.project === 'team');
    assert.deepEqual(
      team?.repositories.map((r) => r.repository),
      ['team/other'],
    );
    assert.equal(team?.uniqueBytes, bytesOf(image));

    clock.advance(2 * HOUR);
    const run = await server.gc.start({ dryRun: false, untagged: false, graceMs: HOUR, trigger: 'manual' });
    await server.gc.settled();
    const done = await server.gc.run(run.id);
    assert.equal(done?.status, 'succeeded', done?.error);
    assert.equal(done?.blobsFreed, own.layers.length + 1);
    assert.equal((await usageOf(ADMIN)).store?.bytes, bytesOf(image));

    await skopeo(client, [
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--src-creds=bob:bob-password',
      `docker://${server.hostPort}/team/other:v1`,
      `oci:${join(work, 'pulled')}:v1`,
    ]);
  });

  test('berth rm --repository and berth storage usage', async () => {
    const be = await berthEnv(join(work, 'cli'), { PATH: join(work, 'no-helpers') });
    const run = (args: string[]) =>
      berth(be, [...args, '--server', server.url, '-u', 'admin', '--password-stdin'], {
        input: ADMIN.password,
      });
    const usage = JSON.parse(assertOk(await run(['storage', 'usage', '--json'])).stdout) as Usage;
    assert.ok(usage.projects.some((p) => p.project === 'team'));
    const table = assertOk(await run(['storage', 'usage'])).stdout;
    assert.match(table, /PROJECT \/ REPOSITORY\s+LOGICAL\s+UNIQUE\s+BLOBS\s+UPLOADS/);
    assert.match(table, /^ {2}team\/other\s/m);
    const removed = assertOk(await run(['rm', '--repository', 'team/other']));
    assert.match(removed.stdout, /Deleted repository team\/other: 1 tags, 1 manifests, 3 blob links/);
    assertOneLineFailure(await run(['rm', '--repository', 'team/other']), /no repository named/);
    assertOneLineFailure(await run(['rm', '--repository', 'Bad Name']), /repository name/);
  });
});

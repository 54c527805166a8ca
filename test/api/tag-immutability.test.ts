// Issue 12, tag immutability: rules per project (repository glob + tag pattern, include or exclude). A push
// that would move an immutable tag, or a delete of one, is DENIED naming the rule; the same manifest pushed
// again under the same tag is accepted. Real server, access checks on, rules through /api/v1 and the CLI.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
import { makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN: Account = { name: 'admin', password: 'admin-password-1' };
const scope = fileScope();

interface OciError {
  code: string;
  message: string;
  detail?: { rule?: number; tag?: string };
}

let server: RunningServer;
let work: string;
let alice: Account; // team's project-admin
let bob: Account; // team's developer
let carol: Account; // no member of team
const api = (account: Account, method: string, path: string, body?: unknown) =>
  fetch(new URL(`/api/v1/${path}`, server.url), {
    method,
    headers: {
      authorization: basic(account),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function addRule(account: Account, rule: Record<string, string>): Promise<number> {
  const res = await api(account, 'POST', 'projects/team/immutability', rule);
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return (JSON.parse(text) as { id: number }).id;
}

async function denied(res: Response): Promise<OciError> {
  const text = await res.text();
  assert.equal(res.status, 403, text);
  const error = (JSON.parse(text) as { errors: OciError[] }).errors[0] as OciError;
  assert.equal(error.code, 'DENIED');
  return error;
}

async function tagDigest(client: AuthorizedClient, repo: string, tag: string): Promise<string | null> {
  const res = await client.request('HEAD', `/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  await res.arrayBuffer();
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

before(async () => {
  work = await tempDir(scope, 'berth-immutability-');
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN.password,
  });
  alice = await addUser(server, 'alice', 'alice-password');
  bob = await addUser(server, 'bob', 'bob-password');
  carol = await addUser(server, 'carol', 'carol-password');
  await addProject(server, 'team', false);
  await addMember(server, 'team', alice, 'project-admin');
  await addMember(server, 'team', bob, 'developer');
});
after(() => server.close());

describe('who manages the rules', () => {
  test('a developer may list but not add; a non-member sees no project; bad patterns are INVALID', async () => {
    const byBob = await api(bob, 'POST', 'projects/team/immutability', { repository: '**', tag: 'v*' });
    assert.equal(byBob.status, 403, await byBob.text());
    const byCarol = await api(carol, 'GET', 'projects/team/immutability');
    assert.equal(byCarol.status, 404, await byCarol.text());
    for (const bad of [
      { repository: '**', tag: 'v/1' },
      { repository: 'UPPER', tag: 'v*' },
      { repository: '**', tag: 'v*', kind: 'sometimes' },
      { repository: '**', tag: 'v*', extra: 1 },
    ]) {
      const res = await api(alice, 'POST', 'projects/team/immutability', bad);
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${await res.text()}`);
    }
    const id = await addRule(alice, { repository: 'listed', tag: 'x' });
    const listed = await api(bob, 'GET', 'projects/team/immutability');
    assert.equal(listed.status, 200);
    const { rules } = (await listed.json()) as { rules: { id: number; kind: string }[] };
    assert.deepEqual(
      rules.map((r) => [r.id, r.kind]),
      [[id, 'include']],
    );
    const byBobRm = await api(bob, 'DELETE', `projects/team/immutability/${id}`);
    assert.equal(byBobRm.status, 403, await byBobRm.text());
    assert.equal((await api(alice, 'DELETE', `projects/team/immutability/${id}`)).status, 204);
    assert.equal((await api(alice, 'DELETE', `projects/team/immutability/${id}`)).status, 404);
    const events = (await auditRows(server, 'alice')).map((r) => r.event);
    assert.ok(events.includes('immutability.added') && events.includes('immutability.removed'), `${events}`);
  });
});

describe('pushes and deletes under a rule', () => {
  let client: AuthorizedClient;
  /** A developer may not delete at all: deletes are the project-admin's. */
  let deleter: AuthorizedClient;
  let ruleId: number;
  before(async () => {
    client = new AuthorizedClient(server.url, basic(bob));
    deleter = new AuthorizedClient(server.url, basic(alice));
    ruleId = await addRule(alice, { repository: '**', tag: 'v*' });
    await addRule(alice, { repository: 'scratch/**', tag: '*', kind: 'exclude' });
  });

  test('the same manifest again is accepted; another one under the tag is DENIED naming the rule', async () => {
    const first = makeImage();
    const second = makeImage();
    await client.pushImage('team/app', 'v1', first);
    await client.pushImage('team/app', 'v1', first);
    for (const blob of [second.config, ...second.layers])
      assert.equal((await client.pushBlob('team/app', blob)).status, 201);
    const error = await denied(
      await client.pushManifest('team/app', 'v1', second.manifest, second.mediaType),
    );
    assert.equal(error.detail?.rule, ruleId);
    assert.match(error.message, new RegExp(`immutability rule ${ruleId}\\b`));
    assert.match(error.message, /"\*\*".*"v\*"/);
    assert.equal(await tagDigest(client, 'team/app', 'v1'), first.manifest.digest);
    // A tag no rule covers still moves; pushing by digest creates no tag and is fine.
    await client.pushImage('team/app', 'latest', first);
    await client.pushImage('team/app', 'latest', second);
    await client.pushImage('team/app', second.manifest.digest, second);
    assert.equal(await tagDigest(client, 'team/app', 'latest'), second.manifest.digest);
  });

  test('neither the tag nor the manifest it names can be deleted, even forced by an admin', async () => {
    const image = makeImage();
    await client.pushImage('team/keep', 'v2', image);
    const errors = [
      await denied(await deleter.request('DELETE', '/v2/team/keep/manifests/v2')),
      await denied(await deleter.request('DELETE', `/v2/team/keep/manifests/${image.manifest.digest}`)),
    ];
    const admin = new AuthorizedClient(server.url, basic(ADMIN));
    errors.push(
      await denied(
        await admin.request('DELETE', `/v2/team/keep/manifests/${image.manifest.digest}?force=true`),
      ),
    );
    for (const error of errors) {
      assert.equal(error.detail?.rule, ruleId, error.message);
      assert.match(error.message, /tag v2 of team\/keep is immutable/);
    }
    assert.equal(await tagDigest(client, 'team/keep', 'v2'), image.manifest.digest);
    // A missing tag is still unknown, not denied.
    const missing = await deleter.request('DELETE', '/v2/team/keep/manifests/v9');
    assert.equal(missing.status, 404, await missing.text());
  });

  test('an exclude rule exempts its repositories; other projects are untouched', async () => {
    const [a, b] = [makeImage(), makeImage()];
    await client.pushImage('team/scratch/x', 'v1', a);
    await client.pushImage('team/scratch/x', 'v1', b);
    const res = await deleter.request('DELETE', '/v2/team/scratch/x/manifests/v1');
    assert.equal(res.status, 202, await res.text());
    const admin = new AuthorizedClient(server.url, basic(ADMIN));
    await admin.pushImage('elsewhere/app', 'v1', a);
    await admin.pushImage('elsewhere/app', 'v1', b);
  });

  test('once the rule is removed, the tag moves and deletes again', async () => {
    const image = makeImage();
    await client.pushImage('team/later', 'v3', makeImage());
    assert.equal((await api(alice, 'DELETE', `projects/team/immutability/${ruleId}`)).status, 204);
    await client.pushImage('team/later', 'v3', image);
    const res = await deleter.request('DELETE', '/v2/team/later/manifests/v3');
    assert.equal(res.status, 202, await res.text());
  });
});

describe('berth immutability', () => {
  test('add, list --json, rm; a wrong id is one line', async () => {
    const be = await berthEnv(join(work, 'cli'), { PATH: join(work, 'no-helpers') });
    const run = (args: string[]) =>
      berth(be, [...args, '--server', server.url, '-u', 'admin', '--password-stdin'], {
        input: ADMIN.password,
      });
    const added = assertOk(
      await run(['immutability', 'add', 'team', '--repository', 'cli/*', '--tag', 'rel-?', '--json']),
    );
    const rule = JSON.parse(added.stdout) as { id: number; repository: string; tag: string; kind: string };
    assert.deepEqual([rule.repository, rule.tag, rule.kind], ['cli/*', 'rel-?', 'include']);
    const table = assertOk(await run(['immutability', 'list', 'team']));
    assert.match(table.stdout, /ID\s+KIND\s+REPOSITORY\s+TAG/);
    assert.match(table.stdout, new RegExp(`${rule.id}\\s+include\\s+cli/\\*\\s+rel-\\?`));
    assertOk(await run(['immutability', 'rm', 'team', String(rule.id)]));
    assertOneLineFailure(await run(['immutability', 'rm', 'team', String(rule.id)]), /no immutability rule/);
    assertOneLineFailure(await run(['immutability', 'rm', 'team', 'abc']), /rule id must be a number/);
  });
});

// The trust policy at pull (issue 14), end to end: a project's rule (repository glob -> cosign public key) set
// through /api/v1; plain skopeo pulling an unsigned image, or one signed by another key, is refused with
// DENIED naming the rule; once signed (cosign's format: the sha256-<hex>.sig tag, simple-signing layers) by
// the rule's key it is served. The signature tag is always pullable, repositories outside the glob are not
// affected, and every refusal and rule change is in the audit log.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { type Digest, parseDigest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { appendSignature, signatureTag } from '../../src/trust/signature-manifest.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signPayload,
  simpleSigningPayload,
} from '../../src/trust/simple-signing.js';
import {
  type Account,
  AuthorizedClient,
  addMember,
  addProject,
  addUser,
  auditRows,
  basic,
  bootstrapAdmin,
} from '../support/access-fixtures.js';
import { type ClientEnv, makeClientEnv, requireTools, run, runFailing } from '../support/containers.js';
import { blobOf, makeImage } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo');

function keyPair(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

describe('trust policy at pull', { skip: gate.skip, concurrency: 1 }, () => {
  let server: RunningServer;
  let admin: Account;
  let dev: Account;
  let registry: AuthorizedClient;
  let client: ClientEnv;
  let work: string;
  const trusted = keyPair();
  const stranger = keyPair();
  let prodDigest: Digest;
  const signatures: Parameters<typeof appendSignature>[0][number][] = [];

  const api = async (method: string, path: string, as: Account, body?: unknown) => {
    const res = await fetch(new URL(`/api/v1/${path}`, server.url), {
      method,
      headers: {
        authorization: basic(as),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: JSON checked field by field
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const skopeoArgs = (repo: string) => [
    '--policy',
    client.policy,
    'inspect',
    '--raw',
    '--tls-verify=false',
    '--creds',
    `${dev.name}:${dev.password}`,
    `docker://${server.hostPort}/${repo}`,
  ];

  /** Signs the image as cosign does and pushes the signature manifest (appending to those there). */
  const sign = async (key: KeyObject, digest: Digest) => {
    const payload = simpleSigningPayload(`${server.hostPort}/team/prod/app`, digest, {});
    const blob = blobOf(payload);
    assert.equal((await registry.pushBlob('team/prod/app', blob)).status, 201);
    signatures.push({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: parseDigest(blob.digest),
      size: payload.length,
      annotations: { [SIGNATURE_ANNOTATION]: signPayload(payload, key) },
    });
    const last = signatures.pop() as (typeof signatures)[number];
    const { manifest, config } = appendSignature(signatures, last);
    signatures.push(last);
    assert.equal((await registry.pushBlob('team/prod/app', blobOf(config))).status, 201);
    const res = await registry.pushManifest(
      'team/prod/app',
      signatureTag(digest),
      blobOf(manifest),
      MediaType.ociManifest,
    );
    assert.equal(res.status, 201, await res.text());
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir(fileScope(), 'berth-pull-trust-');
    server = await startTestServer({ data: join(work, 'data'), config: { 'auth.mode': 'token' } });
    admin = bootstrapAdmin(server);
    await addProject(server, 'team', false);
    dev = await addUser(server, 'dev', 'dev-password-1');
    await addMember(server, 'team', dev, 'developer');
    registry = new AuthorizedClient(server.url, basic(admin));
    const prod = makeImage();
    await registry.pushImage('team/prod/app', 'v1', prod);
    prodDigest = parseDigest(prod.manifest.digest);
    await registry.pushImage('team/dev/app', 'v1', makeImage());
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
  });
  after(async () => {
    await server?.close();
  });

  test('rules are checked when added: a valid key, a glob inside the project', async () => {
    const bad = await api('POST', 'projects/team/trust', admin, { repository: 'team/*', publicKey: 'nope' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    const outside = await api('POST', 'projects/team/trust', admin, {
      repository: 'other/*',
      publicKey: trusted.publicPem,
    });
    assert.equal(outside.status, 400, JSON.stringify(outside.body));
    const byDev = await api('POST', 'projects/team/trust', dev, {
      repository: 'team/prod/*',
      publicKey: trusted.publicPem,
    });
    assert.equal(byDev.status, 403);
    const added = await api('POST', 'projects/team/trust', admin, {
      repository: 'team/prod/*',
      publicKey: trusted.publicPem,
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const listed = await api('GET', 'projects/team/trust', dev);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.rules.map((r: { repository: string }) => r.repository),
      ['team/prod/*'],
    );
  });

  test('an unsigned image is refused with DENIED naming the rule; other repositories are served', async () => {
    const refused = await runFailing(client, 'skopeo', skopeoArgs('team/prod/app:v1'));
    assert.match(refused.stderr, /denied/i, refused.stderr);
    const res = await fetch(new URL(`/v2/team/prod/app/manifests/${prodDigest}`, server.url), {
      headers: { authorization: basic(dev), accept: MediaType.ociManifest },
    });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { errors: { code: string; detail: { policy: string } }[] };
    assert.equal(body.errors[0]?.code, 'DENIED');
    assert.match(body.errors[0]?.detail.policy ?? '', /trust rule \d+ of project team \(team\/prod\/\*\)/);
    await run(client, 'skopeo', skopeoArgs('team/dev/app:v1'));
    const row = (await auditRows(server, 'dev')).find((r) => r.event === 'trust.refused');
    assert.ok(row, 'the refusal is audited');
    assert.equal(row.repository, 'team/prod/app');
  });

  test('a signature by another key does not do; the signature tag itself is always pullable', async () => {
    await sign(stranger.privateKey, prodDigest);
    const refused = await runFailing(client, 'skopeo', skopeoArgs('team/prod/app:v1'));
    assert.match(refused.stderr, /denied/i, refused.stderr);
    await run(client, 'skopeo', skopeoArgs(`team/prod/app:${signatureTag(prodDigest)}`));
  });

  test("once signed by the rule's key the image is served, by tag and by digest", async () => {
    await sign(trusted.privateKey, prodDigest);
    await run(client, 'skopeo', skopeoArgs('team/prod/app:v1'));
    await run(client, 'skopeo', skopeoArgs(`team/prod/app@${prodDigest}`));
  });

  test('removing the rule lifts it, and the change is audited', async () => {
    const id = (await api('GET', 'projects/team/trust', dev)).body.rules[0].id;
    assert.equal((await api('DELETE', `projects/team/trust/${id}`, dev)).status, 403);
    assert.equal((await api('DELETE', `projects/team/trust/${id}`, admin)).status, 204);
    assert.equal((await api('DELETE', `projects/team/trust/${id}`, admin)).status, 404);
    const events = (await auditRows(server, 'admin')).map((r) => r.event);
    assert.ok(events.includes('trust.added') && events.includes('trust.removed'), events.join(' '));
  });
});

// Admission at push (issue 14), end to end: a project's admission policy set through /api/v1 (who may, what is
// refused, the audit trail), then plain skopeo, which never heard of Berth's gate, pushing an image that
// violates it: refused with DENIED and the findings, nothing tagged, the refusal in the audit log. The same
// image passes once the policy allows it; signatures and other artifacts are never held to it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import { parseDigest } from '../../src/oci/digest.js';
import type { ParsedManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { admissionSubject } from '../../src/registry/push-admission.js';
import {
  type Account,
  addMember,
  addProject,
  addUser,
  auditRows,
  basic,
  bootstrapAdmin,
} from '../support/access-fixtures.js';
import { type ClientEnv, makeClientEnv, requireTools, run, runFailing } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout } from '../support/source-fixtures.js';
import { fileScope, tempDir } from '../support/temp.js';

const gate = await requireTools('skopeo', 'umoci');

const REFUSING_POLICY = `version: 1
labels:
  required:
    - org.opencontainers.image.source
layers:
  maxLayers: 1
`;
const PASSING_POLICY = `version: 1
labels:
  required:
    - k
layers:
  maxLayers: 5
naming:
  forbiddenTags: [latest]
`;

interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON of several shapes, checked field by field
  body: any;
}

describe('admission at push', { skip: gate.skip }, () => {
  let server: RunningServer;
  let admin: Account;
  let lead: Account;
  let dev: Account;
  let outsider: Account;
  let work: string;

  const api = async (
    method: string,
    path: string,
    as: Account | null,
    body?: unknown,
  ): Promise<ApiAnswer> => {
    const headers: Record<string, string> = {};
    if (as) headers.authorization = basic(as);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(`/api/v1/${path}`, server.url), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    gate.assertAvailable();
    work = await tempDir(fileScope(), 'berth-admission-');
    server = await startTestServer({ data: join(work, 'data'), config: { 'auth.mode': 'token' } });
    admin = bootstrapAdmin(server);
    await addProject(server, 'team', false);
    await addProject(server, 'other', false);
    lead = await addUser(server, 'lead', 'lead-password-1');
    dev = await addUser(server, 'dev', 'dev-password-1');
    outsider = await addUser(server, 'outsider', 'outsider-password-1');
    await addMember(server, 'team', lead, 'project-admin');
    await addMember(server, 'team', dev, 'developer');
  });
  after(async () => {
    await server?.close();
  });

  test('project-admins and system admins set and remove the policy; members read it; others are refused', async () => {
    const path = 'projects/team/admission';
    assert.equal((await api('PUT', path, null, { policy: PASSING_POLICY })).status, 401);
    const byDev = await api('PUT', path, dev, { policy: PASSING_POLICY });
    assert.equal(byDev.status, 403, JSON.stringify(byDev.body));
    const byOutsider = await api('PUT', path, outsider, { policy: PASSING_POLICY });
    assert.equal(byOutsider.status, 404, 'a private project the caller cannot see answers 404');
    assert.equal((await api('GET', path, lead)).status, 404, 'no policy yet');

    const invalid = await api('PUT', path, lead, { policy: 'version: 1\nlayers:\n  maxLayers: many\n' });
    assert.equal(invalid.status, 400, JSON.stringify(invalid.body));
    assert.equal(invalid.body.errors[0].code, 'INVALID');
    assert.match(invalid.body.errors[0].message, /layers\.maxLayers/);
    assert.equal((await api('PUT', path, lead, { policy: 'x'.repeat(70_000) })).status, 400);
    assert.equal((await api('PUT', path, lead, { policy: PASSING_POLICY, extra: 1 })).status, 400);

    const set = await api('PUT', path, lead, { policy: PASSING_POLICY });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.updatedBy, 'lead');
    const shown = await api('GET', path, dev);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.policy, PASSING_POLICY);
    assert.equal((await api('GET', path, outsider)).status, 404);
    assert.equal((await api('DELETE', path, dev)).status, 403);
    assert.equal((await api('DELETE', path, admin)).status, 204);
    assert.equal((await api('DELETE', path, admin)).status, 404);

    const events = (await auditRows(server)).map((r) => `${r.actor} ${r.event}`);
    assert.ok(events.includes('lead admission.set'), events.join('\n'));
    assert.ok(events.includes('admin admission.removed'), events.join('\n'));
    assert.ok(events.includes('dev access.denied'), events.join('\n'));
  });

  describe('plain skopeo pushes', () => {
    let client: ClientEnv;
    let layout: string;
    const creds = (a: Account) => `${a.name}:${a.password}`;
    const skopeo = (args: string[]) => run(client, 'skopeo', ['--policy', client.policy, ...args]);
    const skopeoFail = (args: string[]) => runFailing(client, 'skopeo', ['--policy', client.policy, ...args]);
    const push = (tag: string) => [
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds(dev),
      `oci:${layout}:v1`,
      `docker://${server.hostPort}/team/app:${tag}`,
    ];
    const tagsOf = async (): Promise<string[]> => {
      const res = await fetch(new URL('/v2/team/app/tags/list', server.url), {
        headers: { authorization: basic(admin) },
      });
      if (res.status === 404) return [];
      const body = (await res.json()) as { tags?: string[] };
      return body.tags ?? [];
    };

    before(async () => {
      client = await makeClientEnv(join(work, 'clients'), server.hostPort);
      ({ layout } = await buildTestLayout(client, join(work, 'images')));
    });

    test('an image that fails the policy is refused with DENIED and its findings, and nothing is tagged', async () => {
      assert.equal(
        (await api('PUT', 'projects/team/admission', lead, { policy: REFUSING_POLICY })).status,
        200,
      );
      const refused = await skopeoFail(push('v1'));
      assert.match(refused.stderr, /denied/i, refused.stderr);
      assert.match(refused.stderr, /org\.opencontainers\.image\.source/, refused.stderr);
      assert.deepEqual(await tagsOf(), []);

      const row = (await auditRows(server, 'dev')).find((r) => r.event === 'admission.refused');
      assert.ok(row, 'the refusal is in the audit log');
      assert.equal(row.repository, 'team/app');
      assert.deepEqual((row.detail as { findings: string[] }).findings.sort(), [
        'labels:org.opencontainers.image.source',
        'layers:max-layers',
      ]);
    });

    test('the same image passes a policy it meets; a forbidden tag is refused by name', async () => {
      assert.equal(
        (await api('PUT', 'projects/team/admission', lead, { policy: PASSING_POLICY })).status,
        200,
      );
      await skopeo(push('v1'));
      assert.deepEqual(await tagsOf(), ['v1']);
      const latest = await skopeoFail(push('latest'));
      assert.match(latest.stderr, /denied/i, latest.stderr);
      assert.match(latest.stderr, /forbidden/, latest.stderr);
      assert.deepEqual(await tagsOf(), ['v1']);
    });

    test('another project without a policy is not affected', async () => {
      await addMember(server, 'other', dev, 'developer');
      await skopeo([
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        creds(dev),
        `oci:${layout}:v1`,
        `docker://${server.hostPort}/other/app:latest`,
      ]);
    });
  });
});

describe('admissionSubject: which pushes an admission policy checks', () => {
  const descriptor = (mediaType: string) => ({
    mediaType,
    digest: parseDigest(`sha256:${'a'.repeat(64)}`),
    size: 1,
  });
  const image = (config: string, layers: string[], extra: Partial<ParsedManifest> = {}): ParsedManifest => ({
    mediaType: MediaType.ociManifest,
    blobs: [],
    blobDescriptors: [],
    manifests: [],
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...extra,
  });
  const cases: [string, ParsedManifest, ReturnType<typeof admissionSubject>][] = [
    ['OCI image', image(MediaType.ociConfig, [MediaType.ociLayerGzip, MediaType.ociLayerZstd]), 'image'],
    ['Docker image', image(MediaType.dockerConfig, [MediaType.dockerLayerGzip]), 'image'],
    ['image without layers', image(MediaType.ociConfig, []), 'image'],
    [
      'image claiming a subject is still an image',
      image(MediaType.ociConfig, [MediaType.ociLayerGzip], { subject: descriptor(MediaType.ociManifest) }),
      'image',
    ],
    [
      'image claiming an artifactType is still an image',
      image(MediaType.ociConfig, [MediaType.ociLayerTar], { artifactType: 'application/x-anything' }),
      'image',
    ],
    [
      'cosign signature',
      image(MediaType.ociConfig, ['application/vnd.dev.cosign.simplesigning.v1+json']),
      'artifact',
    ],
    ['SBOM artifact', image('application/vnd.oci.empty.v1+json', ['application/spdx+json']), 'artifact'],
    [
      'index',
      {
        mediaType: MediaType.ociIndex,
        blobs: [],
        blobDescriptors: [],
        manifests: [],
        children: [descriptor(MediaType.ociManifest)],
      },
      'index',
    ],
  ];
  for (const [name, parsed, expected] of cases) {
    test(name, () => assert.equal(admissionSubject(parsed), expected));
  }
});

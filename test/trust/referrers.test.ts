// berth sbom --attach and berth referrers: against Berth (the OCI 1.1 referrers API) and CNCF Distribution 2.8
// (no referrers API: the tag schema's `sha256-<hex>` index), both real registries on loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RunningServer } from '../../src/main/server.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { blobOf } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { tarBytes } from '../support/scan-images.js';
import { fileScope, tempDir } from '../support/temp.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const distributionGate = await requireDistribution();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function berth(args: string[], dir: string): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      {
        env: { ...process.env, BERTH_CACHE_DIR: join(dir, 'cache'), BERTH_KEY_PASSWORD: '' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A one-layer image (an uncompressed tar) whose dpkg database lists one package. */
async function pushDpkgImage(client: TestClient, repo: string, tag: string): Promise<string> {
  const layer = blobOf(
    await tarBytes([
      {
        name: 'var/lib/dpkg/status',
        content:
          'Package: berth-demo\nStatus: install ok installed\nVersion: 1.2.3-1\nArchitecture: amd64\nMaintainer: Berth <b@example.com>\nDescription: demo\n\n',
      },
      { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
    ]),
  );
  const config = blobOf(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const manifest = blobOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: layer.digest,
          size: layer.bytes.length,
        },
      ],
    }),
  );
  await client.pushImage(repo, tag, {
    config,
    layers: [layer],
    manifest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  });
  return manifest.digest;
}

interface Listing {
  digest: string;
  via: string;
  referrers: { digest: string; artifactType?: string }[];
  cosignSignatures: number;
}

function attachAndList(
  registry: () => { hostPort: string; client: TestClient; dir: string },
  via: 'api' | 'tag-schema',
) {
  return async () => {
    const { hostPort, client, dir } = registry();
    const repo = 'team/app';
    const digest = await pushDpkgImage(client, repo, 'v1');
    const image = `${hostPort}/${repo}:v1`;

    const none = await berth(['referrers', '--json', image], dir);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual((JSON.parse(none.stdout) as Listing).referrers, []);

    const spdx = await berth(['sbom', '--attach', image], dir);
    assert.equal(spdx.code, 0, spdx.stderr);
    assert.match(spdx.stdout, via === 'api' ? /referrers API/ : /tag schema/);
    const cyclone = await berth(['sbom', '--attach', '--format', 'cyclonedx-json', image], dir);
    assert.equal(cyclone.code, 0, cyclone.stderr);

    const keys = await berth(['key', 'generate', '--output-key-prefix', join(dir, 'k')], dir);
    assert.equal(keys.code, 0, keys.stderr);
    const signed = await berth(['sign', '--key', join(dir, 'k.key'), image], dir);
    assert.equal(signed.code, 0, signed.stderr);

    const listed = await berth(['referrers', '--json', image], dir);
    assert.equal(listed.code, 0, listed.stderr);
    const listing = JSON.parse(listed.stdout) as Listing;
    assert.equal(listing.digest, digest);
    assert.equal(listing.via, via);
    assert.deepEqual(listing.referrers.map((r) => r.artifactType).sort(), [
      'application/spdx+json',
      'application/vnd.cyclonedx+json',
    ]);
    assert.equal(listing.cosignSignatures, 1);
    const text = await berth(['referrers', image], dir);
    assert.match(text.stdout, /2 referrer\(s\)/);

    // The artifact is a manifest whose subject is the image, and its one layer the SBOM naming the package.
    const spdxEntry = listing.referrers.find((r) => r.artifactType === 'application/spdx+json');
    const res = await client.request('GET', `/v2/${repo}/manifests/${spdxEntry?.digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    const artifact = (await res.json()) as { subject: { digest: string }; layers: { digest: string }[] };
    assert.equal(artifact.subject.digest, digest);
    const document = JSON.parse(
      (await client.blobBytes(repo, artifact.layers[0]?.digest as string)).toString(),
    );
    assert.equal(document.spdxVersion, 'SPDX-2.3');
    assert.match(JSON.stringify(document.packages), /berth-demo/);

    // Where the registry keeps the list: its referrers API, or the fallback tag the client wrote.
    const fallback = await client.request('GET', `/v2/${repo}/manifests/${digest.replace(':', '-')}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    if (via === 'api') {
      assert.equal(fallback.status, 404, 'no fallback tag where the referrers API exists');
      const api = (await (await client.request('GET', `/v2/${repo}/referrers/${digest}`)).json()) as {
        manifests: unknown[];
      };
      assert.equal(api.manifests.length, 2);
    } else {
      assert.equal(fallback.status, 200);
      assert.equal(((await fallback.json()) as { manifests: unknown[] }).manifests.length, 2);
    }

    const local = await berth(['sbom', '--attach', 'oci:/nonexistent:v1'], dir);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--attach/);
  };
}

describe('SBOMs attached as referrers, on Berth (referrers API)', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = await tempDir(fileScope());
    server = await startTestServer({ data: join(dir, 'data') });
  });
  after(async () => {
    await server?.close();
  });
  test(
    'sbom --attach, referrers lists SBOMs and signatures',
    attachAndList(() => ({ hostPort: server.hostPort, client: new TestClient(server.url), dir }), 'api'),
  );
});

describe('SBOMs attached as referrers, on CNCF Distribution 2.8 (tag schema)', {
  skip: distributionGate.skip,
}, () => {
  let distribution: Distribution;
  let dir: string;
  before(async () => {
    distributionGate.assertAvailable();
    dir = await tempDir(fileScope());
    distribution = await startDistribution({ dir: join(dir, 'distribution') });
  });
  after(async () => {
    await distribution?.stop();
  });
  test(
    'sbom --attach falls back to the sha256-<hex> index, referrers reads it',
    attachAndList(
      () => ({ hostPort: distribution.hostPort, client: new TestClient(distribution.url), dir }),
      'tag-schema',
    ),
  );
});

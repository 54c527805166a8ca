// copy --all: an index (or Docker manifest list) pushed with every child. Berth serves the index byte for byte
// with its type, each child by digest with its own type and size, their blobs, and a config per platform; and
// copying the whole index on from Berth keeps every digest.
import assert from 'node:assert/strict';
import {
  fetchManifest,
  headStatus,
  type ImageIndex,
  type ImageManifest,
  readDigestFile,
  sha256,
  skopeo,
} from '../../support/containers.js';
import type { BerthUnderTest } from './berth-under-test.js';
import { bareType } from './push.js';

interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Labels?: Record<string, string> };
}

export async function expectPushedIndex(
  berth: BerthUnderTest,
  pushed: {
    repo: string;
    tag: string;
    digest: string;
    indexType: string;
    childType: string;
    architectures: readonly string[];
    /** Labels every platform's config carries. */
    labels?: Record<string, string>;
  },
): Promise<ImageIndex> {
  const { repo, tag, digest } = pushed;
  const fetched = await fetchManifest(berth.server.url, repo, tag);
  assert.equal(fetched.status, 200, `GET manifest ${repo}:${tag}`);
  assert.equal(fetched.digest, digest);
  assert.equal(fetched.dockerContentDigest, digest);
  assert.equal(bareType(fetched.contentType), pushed.indexType);
  const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
  assert.deepEqual(
    index.manifests.map((m) => m.platform?.architecture).sort(),
    [...pushed.architectures].sort(),
  );

  for (const child of index.manifests) {
    assert.equal(child.mediaType, pushed.childType);
    assert.equal(await headStatus(berth.server.url, `${repo}/manifests/${child.digest}`), 200, child.digest);
    const got = await fetchManifest(berth.server.url, repo, child.digest);
    assert.equal(got.status, 200);
    assert.equal(got.digest, child.digest);
    assert.equal(got.bytes.length, child.size);
    assert.equal(bareType(got.contentType), pushed.childType);
    const manifest = JSON.parse(got.bytes.toString('utf8')) as ImageManifest;
    for (const blob of [manifest.config, ...manifest.layers]) {
      assert.equal(await headStatus(berth.server.url, `${repo}/blobs/${blob.digest}`), 200, blob.digest);
    }
    const res = await fetch(`${berth.server.url}/v2/${repo}/blobs/${manifest.config.digest}`);
    assert.equal(res.status, 200);
    const configBytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(configBytes), manifest.config.digest);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    assert.equal(config.architecture, child.platform?.architecture);
    assert.equal(config.os, 'linux');
    for (const [key, value] of Object.entries(pushed.labels ?? {})) {
      assert.equal(config.config?.Labels?.[key], value, `label ${key} of ${child.platform?.architecture}`);
    }
  }
  return index;
}

/** `skopeo copy --all` from one repository of Berth to another keeps the index digest (and so every child's). */
export async function expectCopyAllKeepsDigests(
  berth: BerthUnderTest,
  from: { repo: string; tag: string },
  to: { repo: string; tag: string },
): Promise<void> {
  const digestFile = `${berth.work}/copy-all-${to.repo.replaceAll('/', '-')}-${to.tag}.digest`;
  const { stdout } = await skopeo(berth.client, [
    'copy',
    '--all',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--digestfile',
    digestFile,
    berth.docker(`${from.repo}:${from.tag}`),
    berth.docker(`${to.repo}:${to.tag}`),
  ]);
  assert.match(stdout, /Writing manifest list/);
  const original = await fetchManifest(berth.server.url, from.repo, from.tag);
  assert.equal(await readDigestFile(digestFile), original.digest);
  const copied = await fetchManifest(berth.server.url, to.repo, to.tag);
  assert.equal(copied.status, 200);
  assert.equal(copied.digest, original.digest);
}

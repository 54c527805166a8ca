// Push: after a client pushed an image, Berth serves its manifest under the digest the client reported, byte for
// byte and with the type it was pushed with, and every blob the manifest names, in that repository.
import assert from 'node:assert/strict';
import { fetchManifest, headStatus, type ImageManifest, inspectRaw } from '../../support/containers.js';
import type { BerthUnderTest } from './berth-under-test.js';

/** The media type of a Content-Type header, without parameters. */
export function bareType(contentType: string | null): string | undefined {
  return contentType?.split(';')[0]?.trim();
}

/** `repo:tag` or `repo@digest`. */
export function referenceIn(repo: string, reference: string): string {
  return reference.startsWith('sha256:') ? `${repo}@${reference}` : `${repo}:${reference}`;
}

/** Checks what Berth serves for the image a client pushed to `repo` as `reference`; returns its manifest. */
export async function expectPushedImage(
  berth: BerthUnderTest,
  pushed: { repo: string; reference: string; digest: string; mediaType: string },
): Promise<ImageManifest> {
  const { repo, reference, digest } = pushed;
  const fetched = await fetchManifest(berth.server.url, repo, reference);
  assert.equal(fetched.status, 200, `GET manifest ${referenceIn(repo, reference)}`);
  assert.equal(fetched.digest, digest, 'Berth serves other bytes than the client pushed');
  assert.equal(fetched.dockerContentDigest, digest);
  // Some clients (umoci's and podman's manifests) write no mediaType field: the type is the one pushed.
  assert.equal(bareType(fetched.contentType), pushed.mediaType);
  // The way a client reads it back, too.
  assert.equal((await inspectRaw(berth.client, referenceIn(repo, reference))).digest, digest);
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
  for (const blob of [manifest.config, ...manifest.layers]) {
    assert.equal(await headStatus(berth.server.url, `${repo}/blobs/${blob.digest}`), 200, blob.digest);
  }
  return manifest;
}

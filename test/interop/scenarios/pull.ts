// Pull: a client pulls from Berth, by tag and by digest, the very image that was pushed: the same manifest
// digest and the same config (the image ID clients show).
import assert from 'node:assert/strict';

export interface PullingClient {
  /** Pulls `reference` (`repo:tag` or `repo@digest` on Berth); what the client then holds. */
  pull(reference: string): Promise<{ digest: string; configDigest: string }>;
}

export async function expectPulledBack(
  client: PullingClient,
  repo: string,
  tag: string,
  pushed: { digest: string; configDigest: string },
): Promise<void> {
  for (const reference of [`${repo}:${tag}`, `${repo}@${pushed.digest}`]) {
    const pulled = await client.pull(reference);
    assert.equal(pulled.digest, pushed.digest, `pull ${reference}: manifest digest`);
    assert.equal(pulled.configDigest, pushed.configDigest, `pull ${reference}: config`);
  }
}

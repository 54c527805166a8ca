// Mount: pushing a blob Berth already holds in another repository the client may pull from is a cross-repository
// mount (`POST …/blobs/uploads/?mount=&from=`), not an upload; until then the target repository cannot read it.
import assert from 'node:assert/strict';
import { headStatus } from '../../support/containers.js';
import type { BerthUnderTest } from './berth-under-test.js';

/**
 * `push` pushes an image holding `layer` to `repo` and returns the client's debug log; the containers/image
 * library under skopeo, podman and buildah logs each mount it tries ("Trying to mount …", "… mount OK").
 */
export async function expectMountedOnPush(
  berth: BerthUnderTest,
  repo: string,
  layer: string,
  push: () => Promise<string>,
): Promise<void> {
  // A repository reads only blobs linked to it, until they are pushed or mounted there.
  assert.equal(await headStatus(berth.server.url, `${repo}/blobs/${layer}`), 404);
  const log = await push();
  const hex = layer.slice('sha256:'.length);
  assert.match(
    log,
    new RegExp(`Trying to mount /v2/${repo}/blobs/uploads/\\?from=[^&]+&mount=sha256%3A${hex}`),
    `the client did not try a cross-repository mount of ${layer}:\n${log}`,
  );
  assert.match(log, /mount OK/, `the cross-repository mount was not accepted:\n${log}`);
  assert.equal(await headStatus(berth.server.url, `${repo}/blobs/${layer}`), 200);
}

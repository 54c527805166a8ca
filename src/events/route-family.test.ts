import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methodLabel, pathOf, routeFamily } from './route-family.js';

test('a request path maps to a bounded route family', () => {
  const table: [string, string][] = [
    ['/v2/', 'v2_base'],
    ['/v2', 'v2_base'],
    ['/v2/_catalog', 'v2_catalog'],
    ['/v2/team/app/tags/list', 'v2_tags'],
    ['/v2/team/app/manifests/latest', 'v2_manifests'],
    ['/v2/team/app/blobs/sha256:abc', 'v2_blobs'],
    ['/v2/team/app/blobs/uploads/', 'v2_uploads'],
    ['/v2/team/app/blobs/uploads/0b6f', 'v2_uploads'],
    ['/v2/team/app/referrers/sha256:abc', 'v2_referrers'],
    ['/v2/nothing-here', 'v2_other'],
    ['/token', 'token'],
    ['/api/v1/users', 'api'],
    ['/healthz', 'health'],
    ['/readyz', 'health'],
    ['/metrics', 'metrics'],
    ['/favicon.ico', 'other'],
  ];
  for (const [path, family] of table) assert.equal(routeFamily(path), family, path);
});

test('methods outside the known set count as other; a query is not part of the path', () => {
  assert.equal(methodLabel('GET'), 'GET');
  assert.equal(methodLabel('PROPFIND'), 'other');
  assert.equal(pathOf('/v2/a/tags/list?n=1'), '/v2/a/tags/list');
});

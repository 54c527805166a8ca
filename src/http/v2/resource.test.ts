import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V2Route } from '../../oci/v2-path.js';
import { type MethodDeclarations, methodRefusal, methodTable, type V2Features } from './resource.js';

type Route = Extract<V2Route, { kind: 'manifest' }>;

const handle = async (): Promise<never> => {
  throw new Error('not called here');
};
const DECLARED: MethodDeclarations<Route> = {
  GET: { kind: 'read', handle },
  HEAD: { kind: 'read', handle },
  PUT: { kind: 'write', handle },
  DELETE: { kind: 'delete', handle },
};

function features(change: Partial<V2Features>): V2Features {
  return { deletes: true, readOnly: false, chunkMinLength: 0, ...change };
}

test('a switched-off method is absent from the table from the start, with its reason noted', () => {
  for (const [change, registered, off] of [
    [{}, ['GET', 'HEAD', 'PUT', 'DELETE'], {}],
    [{ deletes: false }, ['GET', 'HEAD', 'PUT'], { DELETE: 'deletes are disabled on this registry' }],
    [
      { readOnly: true },
      ['GET', 'HEAD'],
      { PUT: 'this registry is read-only', DELETE: 'this registry is read-only' },
    ],
  ] as const) {
    const table = methodTable(features(change), DECLARED);
    assert.deepEqual(Object.keys(table.handlers), registered, JSON.stringify(change));
    assert.deepEqual(table.off, off, JSON.stringify(change));
  }
});

test('refusals: UNSUPPORTED with the reason for a switched-off method, METHOD_UNKNOWN for one never declared', () => {
  const table = methodTable(features({ deletes: false }), DECLARED);
  const off = methodRefusal(table, 'DELETE', '/v2/a/manifests/v1');
  assert.equal(off.kind, 'UNSUPPORTED');
  assert.equal(off.status, 405);
  assert.deepEqual(off.detail, { reason: 'deletes are disabled on this registry' });
  const unknown = methodRefusal(table, 'POST', '/v2/a/manifests/v1');
  assert.equal(unknown.kind, 'METHOD_UNKNOWN');
  assert.equal(unknown.status, 405);
  assert.equal(unknown.code, 'UNSUPPORTED');
});

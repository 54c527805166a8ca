import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetadataStore } from './metadata-store.js';

/** The immutability rules store, run by the metadata suite on SQLite and on PostgreSQL. */
export function immutabilityCases(open: () => Promise<MetadataStore>): void {
  test('immutability rules: added with ids, listed per project in order, removed only in their project', async (t) => {
    const store = await open();
    t.after(() => store.close());
    const rules = store.immutability;
    const a = await rules.addRule({
      project: 'team',
      repository: '**',
      tag: 'v*',
      kind: 'include',
      createdAt: 1,
    });
    const b = await rules.addRule({
      project: 'team',
      repository: 'scratch/**',
      tag: '*',
      kind: 'exclude',
      createdAt: 2,
    });
    await rules.addRule({
      project: 'other',
      repository: 'app',
      tag: 'latest',
      kind: 'include',
      createdAt: 3,
    });
    assert.ok(b.id > a.id);
    assert.deepEqual(await rules.listRules('team'), [a, b]);
    assert.deepEqual(a, {
      id: a.id,
      project: 'team',
      repository: '**',
      tag: 'v*',
      kind: 'include',
      createdAt: 1,
    });
    assert.equal(await rules.countRules('team'), 2);
    assert.equal(await rules.removeRule('other', a.id), false);
    assert.equal(await rules.removeRule('team', a.id), true);
    assert.equal(await rules.removeRule('team', a.id), false);
    assert.deepEqual(await rules.listRules('team'), [b]);
    assert.equal((await rules.listRules('other')).length, 1);
    assert.deepEqual(await rules.listRules('nobody'), []);
  });
}

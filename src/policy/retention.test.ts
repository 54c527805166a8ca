import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRetentionPolicy,
  evaluateRetention,
  parseRetentionPolicy,
  type RetentionOptions,
  type RetentionTag,
  type UntaggedManifest,
} from './retention.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 5, 15);

/** `name@digest:pushedDaysAgo[:pulledDaysAgo]` in repository `app`. */
function tag(spec: string, repository = 'app'): RetentionTag {
  const [nameAndDigest = '', pushed = '0', pulled] = spec.split(':');
  const [name = '', digest = name] = nameAndDigest.split('@');
  return {
    repository,
    tag: name,
    digest: `sha256:${digest}`,
    pushedAt: NOW - Number(pushed) * DAY,
    pulledAt: pulled === undefined ? null : NOW - Number(pulled) * DAY,
    manifestSize: 10,
    blobs: [
      { digest: `layer-${digest}`, size: 100 },
      { digest: 'base', size: 1000 },
    ],
  };
}

function deleted(policy: unknown, tags: RetentionTag[], options: RetentionOptions = {}): string[] {
  return evaluateRetention(checkRetentionPolicy(policy), tags, NOW, { force: true, ...options })
    .tags.filter((d) => d.action === 'delete')
    .map((d) => `${d.repository}:${d.tag}`);
}

const FIVE = ['a:5', 'b:4:1', 'c:3:20', 'd:2', 'e:1:3'].map((s) => tag(s));

describe('evaluateRetention: which tags go', () => {
  const cases: [string, unknown, RetentionTag[], string[]][] = [
    [
      'keep 2 most recently pushed',
      { rules: [{ keep: { mostRecentlyPushed: 2 } }] },
      FIVE,
      ['app:a', 'app:b', 'app:c'],
    ],
    [
      'keep 2 most recently pulled (never pulled go)',
      { rules: [{ keep: { mostRecentlyPulled: 2 } }] },
      FIVE,
      ['app:a', 'app:c', 'app:d'],
    ],
    [
      'keep pushed within 2 days',
      { rules: [{ keep: { pushedWithinDays: 2 } }] },
      FIVE,
      ['app:a', 'app:b', 'app:c'],
    ],
    [
      'keep pulled within 5 days',
      { rules: [{ keep: { pulledWithinDays: 5 } }] },
      FIVE,
      ['app:a', 'app:c', 'app:d'],
    ],
    [
      'keep tags matching a pattern',
      { rules: [{ keep: { tagsMatching: '{a,e}' } }] },
      FIVE,
      ['app:b', 'app:c', 'app:d'],
    ],
    ['always keep', { rules: [{ keep: { always: true } }] }, FIVE, []],
    [
      'criteria of one rule add up',
      { rules: [{ keep: { mostRecentlyPushed: 1, pulledWithinDays: 2 } }] },
      FIVE,
      ['app:a', 'app:c', 'app:d'],
    ],
    ['no rule: nothing selected, nothing deleted', { rules: [] }, FIVE, []],
    [
      'a tag no rule selects stays',
      { rules: [{ tags: 'dev-*', keep: { mostRecentlyPushed: 1 } }] },
      ['dev-1:3', 'dev-2:2', 'v1:9'].map((s) => tag(s)),
      ['app:dev-1'],
    ],
    [
      'a rule for other repositories does nothing here',
      { rules: [{ repositories: 'other/**', keep: { mostRecentlyPushed: 1 } }] },
      FIVE,
      [],
    ],
    [
      'two rules: any keeps',
      {
        rules: [{ keep: { mostRecentlyPushed: 1 } }, { tags: '{a,b}', keep: { always: true } }],
      },
      FIVE,
      ['app:c', 'app:d'],
    ],
    [
      'ranks count per repository',
      { rules: [{ repositories: '**', keep: { mostRecentlyPushed: 1 } }] },
      [tag('x:1', 'one'), tag('y:2', 'one'), tag('z:3', 'team/two'), tag('w:4', 'team/two')],
      ['one:y', 'team/two:w'],
    ],
    [
      'equal push times: by name',
      { rules: [{ keep: { mostRecentlyPushed: 1 } }] },
      ['b:1', 'a:1'].map((s) => tag(s)),
      ['app:b'],
    ],
  ];
  for (const [name, policy, tags, expected] of cases) {
    it(name, () => assert.deepEqual(deleted(policy, tags), expected));
  }

  it('immutable tags are never deleted', () => {
    const isImmutable = (_repo: string, t: string) => t === 'a';
    const plan = evaluateRetention(
      checkRetentionPolicy({ rules: [{ keep: { mostRecentlyPushed: 1 } }] }),
      FIVE,
      NOW,
      {
        isImmutable,
        force: true,
      },
    );
    assert.deepEqual(
      plan.tags.find((d) => d.tag === 'a'),
      {
        repository: 'app',
        tag: 'a',
        digest: 'sha256:a',
        action: 'keep',
        reason: 'immutable',
      },
    );
  });

  it('every decision carries a reason', () => {
    const plan = evaluateRetention(
      checkRetentionPolicy({ rules: [{ keep: { mostRecentlyPushed: 1 } }] }),
      FIVE,
      NOW,
      { force: true },
    );
    assert.equal(plan.tags.find((d) => d.tag === 'e')?.reason, 'rule 1: among the 1 most recently pushed');
    assert.equal(plan.tags.find((d) => d.tag === 'a')?.reason, 'no keep criterion of rule 1 holds');
  });
});

describe('evaluateRetention: guards', () => {
  const policy = (share?: number) =>
    checkRetentionPolicy({
      rules: [{ keep: { mostRecentlyPushed: 2 } }],
      ...(share !== undefined ? { maxDeleteShare: share } : {}),
    });
  const cases: [string, number | undefined, string[], boolean, number][] = [
    ['3 of 5 is over 50%: refused', undefined, ['a:5', 'b:4', 'c:3', 'd:2', 'e:1'], false, 0],
    ['forced: deleted', undefined, ['a:5', 'b:4', 'c:3', 'd:2', 'e:1'], true, 3],
    ['2 of 4 is 50%: allowed', undefined, ['a:4', 'b:3', 'c:2', 'd:1'], false, 2],
    ['share 0.8 allows 3 of 5', 0.8, ['a:5', 'b:4', 'c:3', 'd:2', 'e:1'], false, 3],
  ];
  for (const [name, share, specs, force, count] of cases) {
    it(name, () => {
      const plan = evaluateRetention(
        policy(share),
        specs.map((s) => tag(s)),
        NOW,
        { force },
      );
      assert.equal(plan.tags.filter((d) => d.action === 'delete').length, count);
      assert.equal(plan.refused.length, count === 0 ? 1 : 0);
    });
  }

  it('never the last tag unless forced', () => {
    const p = checkRetentionPolicy({ rules: [{ keep: { pushedWithinDays: 1 } }], maxDeleteShare: 1 });
    const plan = evaluateRetention(p, [tag('old:30')], NOW);
    assert.equal(plan.tags[0]?.action, 'keep');
    assert.match(plan.tags[0]?.reason ?? '', /^guard: would delete every tag/);
    assert.equal(evaluateRetention(p, [tag('old:30')], NOW, { force: true }).tags[0]?.action, 'delete');
  });
});

describe('evaluateRetention: shared digests, bytes, untagged', () => {
  it('deleting a tag whose digest another tag keeps frees nothing', () => {
    const tags = [tag('old@same:10'), tag('new@same:1'), tag('other@x:9')];
    const plan = evaluateRetention(
      checkRetentionPolicy({ rules: [{ keep: { mostRecentlyPushed: 1 } }] }),
      tags,
      NOW,
      { force: true },
    );
    assert.deepEqual(
      plan.tags.filter((d) => d.action === 'delete').map((d) => d.tag),
      ['old', 'other'],
    );
    // Only `x`'s manifest and its own layer: the base layer and `same` stay referenced.
    assert.equal(plan.bytesFreed, 110);
  });

  it('untagged manifests expire after the hours given, unless something needs them', () => {
    const untagged: UntaggedManifest[] = [
      { repository: 'app', digest: 'sha256:old', createdAt: NOW - 25 * 3600_000, needed: false, size: 7 },
      { repository: 'app', digest: 'sha256:young', createdAt: NOW - 23 * 3600_000, needed: false, size: 7 },
      { repository: 'app', digest: 'sha256:child', createdAt: NOW - 99 * 3600_000, needed: true, size: 7 },
    ];
    const p = checkRetentionPolicy({ untaggedAfterHours: 24 });
    const plan = evaluateRetention(p, [], NOW, {}, untagged);
    assert.deepEqual(
      plan.untagged.map((u) => u.digest),
      ['sha256:old'],
    );
    assert.equal(plan.bytesFreed, 7);
    assert.deepEqual(evaluateRetention(checkRetentionPolicy({}), [], NOW, {}, untagged).untagged, []);
  });
});

describe('parseRetentionPolicy', () => {
  it('reads YAML with defaults', () => {
    const p = parseRetentionPolicy('schedule: "0 3 * * *"\nrules:\n  - keep: { mostRecentlyPushed: 3 }\n');
    assert.deepEqual(p, {
      schedule: '0 3 * * *',
      maxDeleteShare: 0.5,
      rules: [{ repositories: '**', tags: '*', keep: { mostRecentlyPushed: 3 } }],
    });
  });
  const bad: [string, string][] = [
    ['rules: [{ keep: {} }]', /keep/.source],
    ['rules: [{ keep: { mostRecentlyPushed: 0 } }]', /mostRecentlyPushed/.source],
    ['rules: [{ keep: { always: true }, colour: red }]', /rules\.0/.source],
    ['rules: [{ tags: "[", keep: { always: true } }]', /bad glob/.source],
    ['schedule: sometimes', /schedule/.source],
    ['maxDeleteShare: 2', /maxDeleteShare/.source],
    ['rules: [', /not YAML/.source],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${text}`, () =>
      assert.throws(
        () => parseRetentionPolicy(text),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'POLICY_INVALID');
          assert.match(e.message, new RegExp(message));
          return true;
        },
      ));
  }
});

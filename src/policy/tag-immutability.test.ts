import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatches } from '../access/repository-glob.js';
import {
  type ImmutabilityRule,
  immutableBy,
  isValidTagPattern,
  pathInProject,
  tagMatches,
} from './tag-immutability.js';

const rule = (id: number, repository: string, tag: string, kind: 'include' | 'exclude' = 'include') => ({
  id,
  repository,
  tag,
  kind,
});

describe('tag immutability decisions', () => {
  it('matches tag patterns', () => {
    const table: [string, string, boolean][] = [
      ['v*', 'v1.2.3', true],
      ['v*', 'latest', false],
      ['*', 'anything', true],
      ['v?.?', 'v1.2', true],
      ['v?.?', 'v1.23', false],
      ['1.0', '1x0', false],
      ['release-*', 'release-2024', true],
      ['latest', 'latest', true],
      ['latest', 'latest2', false],
    ];
    for (const [pattern, tag, expected] of table)
      assert.equal(tagMatches(pattern, tag), expected, `${pattern} ~ ${tag}`);
  });

  it('validates tag patterns', () => {
    for (const good of ['v*', 'latest', '?', 'release-*.*', 'a'.repeat(128)])
      assert.ok(isValidTagPattern(good));
    for (const bad of ['', 'a b', 'v/1', '(.*)', 'a'.repeat(129)]) assert.ok(!isValidTagPattern(bad), bad);
  });

  it('takes the path below the project', () => {
    assert.equal(pathInProject('team/app'), 'app');
    assert.equal(pathInProject('team/app/web'), 'app/web');
    assert.equal(pathInProject('team'), '');
  });

  it('decides by include and exclude rules', () => {
    const rules: ImmutabilityRule[] = [
      rule(1, '**', 'v*'),
      rule(2, 'app', 'latest'),
      rule(3, 'scratch/**', '*', 'exclude'),
      rule(4, '**', 'v*-dev', 'exclude'),
    ];
    const table: [string, string, number | undefined][] = [
      ['team/app', 'v1', 1],
      ['team/app', 'latest', 2],
      ['team/web', 'latest', undefined],
      ['team/deep/web', 'v2', 1],
      ['team/scratch/x', 'v1', undefined],
      ['team/app', 'v1-dev', undefined],
      ['team', 'v1', 1],
      ['team/app', 'main', undefined],
    ];
    for (const [repo, tag, expected] of table)
      assert.equal(immutableBy(rules, repo, tag, globMatches)?.id, expected, `${repo}:${tag}`);
  });

  it('names the lowest include rule that matches, whatever the order given', () => {
    const rules = [rule(7, '**', '*'), rule(3, 'app', 'v*')];
    assert.equal(immutableBy(rules, 'team/app', 'v1', globMatches)?.id, 3);
    assert.equal(immutableBy([], 'team/app', 'v1', globMatches), undefined);
  });
});

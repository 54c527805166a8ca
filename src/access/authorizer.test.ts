import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowedActions } from './authorizer.js';
import type { Principal } from './principal.js';
import { globMatches, isValidGlob } from './repository-glob.js';

describe('repository globs', () => {
  test('* stays within one segment, ** crosses segments', () => {
    const cases: [string, string, boolean][] = [
      ['team/*', 'team/app', true],
      ['team/*', 'team/a/b', false],
      ['team/*', 'team', false],
      ['team/*', 'teamx/app', false],
      ['team/**', 'team/a/b/c', true],
      ['team/**', 'team/app', true],
      ['team/**', 'team', false],
      ['*', 'alpine', true],
      ['*', 'team/app', false],
      ['**', 'team/a/b', true],
      ['team/app', 'team/app', true],
      ['team/app', 'team/app2', false],
      ['*/app', 'team/app', true],
      ['*/app', 'team/sub/app', false],
      ['team/app-*', 'team/app-prod', true],
      ['team.x/*', 'teamyx/a', false],
    ];
    for (const [glob, repo, expected] of cases)
      assert.equal(globMatches(glob, repo), expected, `${glob} ~ ${repo}`);
  });
  test('only repository characters, / and * make a glob', () => {
    for (const ok of ['team/*', '**', 'a.b_c-d/**']) assert.ok(isValidGlob(ok), ok);
    for (const bad of ['', 'Team/*', 'team/***', 'team/(x)', 'team/a b', 'x'.repeat(257)])
      assert.ok(!isValidGlob(bad), bad);
  });
});

describe('allowed actions', () => {
  const alice: Principal = { kind: 'user', name: 'alice', admin: false };
  const none = { rolePolicies: [] };
  const set = (...a: string[]) => new Set(a);

  test('default deny; admins may do everything; public projects allow pulls to anyone', () => {
    assert.deepEqual(allowedActions(alice, 'team/app', none), set());
    assert.deepEqual(allowedActions({ kind: 'anonymous' }, 'team/app', none), set());
    assert.deepEqual(
      allowedActions({ kind: 'user', name: 'root', admin: true }, 'x/y', none),
      set('pull', 'push', 'delete'),
    );
    const open = { project: { name: 'team', public: true }, rolePolicies: [] };
    assert.deepEqual(allowedActions({ kind: 'anonymous' }, 'team/app', open), set('pull'));
    assert.deepEqual(allowedActions(alice, 'team/app', open), set('pull'));
  });

  test('project roles', () => {
    const project = { name: 'team', public: false };
    assert.deepEqual(
      allowedActions(alice, 'team/app', { project, memberRole: 'guest', rolePolicies: [] }),
      set('pull'),
    );
    assert.deepEqual(
      allowedActions(alice, 'team/app', { project, memberRole: 'developer', rolePolicies: [] }),
      set('pull', 'push'),
    );
    assert.deepEqual(
      allowedActions(alice, 'team/app', { project, memberRole: 'maintainer', rolePolicies: [] }),
      set('pull', 'push', 'delete'),
    );
  });

  test('policy roles and robot permissions add up, where their globs match', () => {
    const facts = { rolePolicies: [{ repo: 'team/*', actions: ['pull' as const] }] };
    assert.deepEqual(allowedActions(alice, 'team/app', facts), set('pull'));
    assert.deepEqual(allowedActions(alice, 'team/a/b', facts), set());
    const robot: Principal = {
      kind: 'robot',
      name: 'robot$ci',
      permissions: [{ repo: 'team/**', actions: ['push'] }],
    };
    assert.deepEqual(allowedActions(robot, 'team/a/b', facts), set('push'));
    assert.deepEqual(allowedActions(robot, 'team/app', facts), set('pull', 'push'));
    assert.deepEqual(allowedActions(robot, 'other/app', facts), set());
    assert.deepEqual(
      allowedActions({ kind: 'anonymous' }, 'team/app', facts),
      set(),
      'anonymous never gets role grants',
    );
  });
});

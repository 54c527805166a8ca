import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareApkVersions, isValidApkVersion } from './apk-version.js';

const ORDERED: [string, string][] = [
  ['1.2', '1.10'],
  ['1.2.3', '1.2.10'],
  ['1.2', '1.2.1'],
  // A letter after the digits: later than the bare version, earlier than another component.
  ['1.2', '1.2a'],
  ['1.2a', '1.2b'],
  ['1.2a', '1.2.1'],
  // Pre-release suffixes before the bare version, in their own order.
  ['1.0_alpha', '1.0_beta'],
  ['1.0_beta', '1.0_pre'],
  ['1.0_pre', '1.0_rc'],
  ['1.0_rc', '1.0'],
  ['1.0_rc1', '1.0_rc2'],
  ['1.0_rc9', '1.0_rc10'],
  ['1.0_rc1', '1.0.1'],
  ['1.0_alpha1-r5', '1.0'],
  // Post-release suffixes after it, in their own order.
  ['1.0', '1.0_cvs'],
  ['1.0_cvs', '1.0_svn'],
  ['1.0_svn', '1.0_git'],
  ['1.0_git', '1.0_hg'],
  ['1.0_hg', '1.0_p'],
  ['1.0_p1', '1.0_p2'],
  ['1.0_git20240101', '1.0_git20240102'],
  ['1.0_p1', '1.0.1'],
  // Revisions.
  ['1.0-r0', '1.0-r1'],
  ['1.0-r9', '1.0-r10'],
  ['1.0', '1.0-r1'],
  ['3.0.13-r0', '3.0.14-r0'],
  ['1.36.1-r28', '1.36.1-r29'],
  ['1.0_rc1-r9', '1.0-r0'],
  ['2.4.59-r0', '2.4.62-r0'],
];

const EQUAL: [string, string][] = [
  ['1.0', '1.0'],
  ['1.0_rc', '1.0_rc0'],
  ['1.0-r01', '1.0-r1'],
];

describe('apk version ordering', () => {
  for (const [low, high] of ORDERED) {
    test(`${low} < ${high}`, () => {
      assert.ok(compareApkVersions(low, high) < 0, `${low} should sort before ${high}`);
      assert.ok(compareApkVersions(high, low) > 0, `${high} should sort after ${low}`);
    });
  }
  for (const [a, b] of EQUAL) {
    test(`${a} = ${b}`, () => {
      assert.equal(compareApkVersions(a, b), 0);
      assert.equal(compareApkVersions(b, a), 0);
    });
  }

  test('sorting a shuffled list gives apk order', () => {
    const expected = ['1.0_alpha', '1.0_beta2', '1.0_rc1', '1.0', '1.0-r1', '1.0_p1', '1.0a', '1.0.1'];
    const shuffled = [...expected].reverse();
    shuffled.sort(compareApkVersions);
    assert.deepEqual(shuffled, expected);
  });

  test('anything left over keeps the order total and never throws', () => {
    assert.ok(compareApkVersions('1.0-foo', '1.0') > 0);
    assert.equal(compareApkVersions('', ''), 0);
    assert.ok(compareApkVersions('', '1') < 0);
  });

  test('validity', () => {
    for (const v of ['1.0', '1.36.1-r29', '3.0.14-r0', '1.2a', '1.0_rc1', '1.0_p1_git2-r3', '1.0~abc123-r0'])
      assert.ok(isValidApkVersion(v), v);
    for (const v of ['', 'a1', '1.0-1', '1.0_foo', '1.0-r', '1..0', '1.0 '])
      assert.ok(!isValidApkVersion(v), v);
  });
});

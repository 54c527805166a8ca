import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareRpmVersions, isValidRpmVersion, rpmvercmp } from './rpm-version.js';

/** rpmvercmp on single parts: -1, 0 or 1, as rpm's own test table has them. */
const PARTS: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0.1', '2.0.1', 0],
  ['2.0', '2.0.1', -1],
  ['2.0.1a', '2.0.1', 1],
  ['5.5p1', '5.5p2', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['xyz10', 'xyz10.1', -1],
  ['xyz.4', '8', -1],
  ['2.0a', '2.0.a', 0],
  ['1.0aa', '1.0a', 1],
  ['1.0', '1.0a', -1],
  ['010', '10', 0],
  ['10b2', '10a1', 1],
  ['6.0.rc1', '6.0', 1],
  ['b', 'a', 1],
  ['a', '1', -1],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~rc1', '1.0arc1', -1],
  ['1.0^', '1.0', 1],
  ['1.0^git1', '1.0', 1],
  ['1.0^git1', '1.0.1', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git1~pre', '1.0^git1', -1],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0~rc1^git1', '1.0', -1],
  ['1.0^20160101', '1.0.1', -1],
  ['1_0', '1.0', 0],
];

const ORDERED: [string, string][] = [
  ['1.0-1', '1.0-2'],
  ['1.0-1.el9', '1.0-2.el9'],
  ['2.34-100.el9_4.2', '2.34-100.el9_4.3'],
  ['1:1.0-1', '2:0.1-1'],
  ['9.9-9', '1:0.1-1'],
  ['3.0.7-27.el9', '1:3.0.7-28.el9'],
  ['1.0', '1.0-1'],
  ['4.18.0-513.5.1.el8_9', '4.18.0-513.24.1.el8_9'],
];

describe('rpm version ordering', () => {
  for (const [a, b, expected] of PARTS) {
    test(`rpmvercmp(${a}, ${b}) = ${expected}`, () => {
      assert.equal(rpmvercmp(a, b), expected);
      assert.equal(rpmvercmp(b, a), -expected || 0);
    });
  }
  for (const [low, high] of ORDERED) {
    test(`${low} < ${high}`, () => {
      assert.ok(compareRpmVersions(low, high) < 0);
      assert.ok(compareRpmVersions(high, low) > 0);
    });
  }
  test('a missing epoch is epoch 0', () => {
    assert.equal(compareRpmVersions('0:1.0-1', '1.0-1'), 0);
  });
  test('validity', () => {
    for (const v of ['1.0-1', '1:3.0.7-28.el9', '1.0~rc1-1', '1.0^git1-1.fc40', '2.34'])
      assert.ok(isValidRpmVersion(v), v);
    for (const v of ['', '1.0-1-2', 'a:1.0', '1.0-', ':1.0', '1.0 -1']) assert.ok(!isValidRpmVersion(v), v);
  });
});

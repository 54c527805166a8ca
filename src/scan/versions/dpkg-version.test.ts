import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareDpkgVersions, isValidDpkgVersion, splitDpkgVersion } from './dpkg-version.js';

/** Each pair: the first sorts strictly before the second (checked both ways round). */
const ORDERED: [string, string][] = [
  // Numeric parts are numbers, not text.
  ['1.2', '1.10'],
  ['9', '10'],
  ['1.0', '1.0.1'],
  // `~` sorts before everything, even the end of the part.
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~~', '1.0~~a'],
  ['1.0~~a', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0~alpha', '1.0~beta'],
  ['252.38-1~deb12u1', '252.38-1'],
  ['5.7-0.5~deb12u1', '5.7-0.5'],
  ['3.0.19-1~deb12u2', '3.0.19-1'],
  // Letters sort before non-letters; the end before letters.
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1.0a', '1.0.'],
  ['1.0+dfsg', '1.0.1'],
  ['1.0Z', '1.0a'],
  // The epoch wins over everything else; no epoch is epoch 0.
  ['1.3-1', '1:1.2.13.dfsg-1'],
  ['1:9.9', '2:0.1'],
  ['0:1.0', '1:0'],
  // Revisions compare after the upstream version.
  ['1.0-1', '1.0-2'],
  ['1.0-9', '1.0-10'],
  ['2.36-9+deb12u9', '2.36-9+deb12u10'],
  ['5.2.15-2', '5.2.15-2+b8'],
  ['1.34+dfsg-1.2', '1.34+dfsg-1.2+deb12u1'],
  ['1.0-1', '1.0.1-1'],
  // The last hyphen starts the revision: the upstream part may hold hyphens.
  ['1.0-beta-1', '1.0-beta-2'],
  ['2.38.1-5+deb12u3', '2.38.1-5+deb12u4'],
  ['1:4.13+dfsg1-1+deb12u1', '1:4.13+dfsg1-1+deb12u2'],
  ['0.5.12-2', '0.5.12-2.1'],
];

const EQUAL: [string, string][] = [
  ['1.0', '1.0'],
  ['0:1.0', '1.0'],
  ['1.0-0', '1.0'],
  ['1.01', '1.1'],
  ['1.0-00', '1.0-0'],
  ['00:1.0', '1.0'],
];

describe('dpkg version ordering', () => {
  for (const [low, high] of ORDERED) {
    test(`${low} < ${high}`, () => {
      assert.ok(compareDpkgVersions(low, high) < 0, `${low} should sort before ${high}`);
      assert.ok(compareDpkgVersions(high, low) > 0, `${high} should sort after ${low}`);
    });
  }
  for (const [a, b] of EQUAL) {
    test(`${a} = ${b}`, () => {
      assert.equal(compareDpkgVersions(a, b), 0);
      assert.equal(compareDpkgVersions(b, a), 0);
    });
  }

  test('sorting a shuffled list gives the policy order', () => {
    const expected = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0+', '1.0.1', '1.0.10', '1:0.1'];
    const shuffled = [...expected].reverse();
    shuffled.sort(compareDpkgVersions);
    assert.deepEqual(shuffled, expected);
  });

  test('numbers longer than a double still compare by value', () => {
    assert.ok(compareDpkgVersions('1.99999999999999999998', '1.99999999999999999999') < 0);
    assert.ok(compareDpkgVersions('20240101123456789012', '9') > 0);
  });

  test('split keeps hyphens in the upstream part and reads the epoch', () => {
    assert.deepEqual(splitDpkgVersion('1:2.0-beta-3'), { epoch: 1, upstream: '2.0-beta', revision: '3' });
    assert.deepEqual(splitDpkgVersion('9.1'), { epoch: 0, upstream: '9.1', revision: '' });
  });

  test('validity', () => {
    for (const v of ['1.0', '1:1.2.13.dfsg-1', '2.36-9+deb12u14', '1.0~rc1-1', '1:2:3-1', '0.0.17+nmu1'])
      assert.ok(isValidDpkgVersion(v), v);
    for (const v of ['', 'a1.0', 'x:1.0', '1.0-', '1.0-a_b', ' 1.0', '1.0 ', '1.0:1', '-1', '1.0-r!'])
      assert.ok(!isValidDpkgVersion(v), v);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

test('parseDuration reads the spellings people write and refuses the rest', () => {
  const table: [string, number | 'INVALID'][] = [
    ['0s', 0],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['250ms', 250],
    ['3600', 3_600_000],
    ['', 'INVALID'],
    ['1x', 'INVALID'],
    ['h', 'INVALID'],
    ['1h 30m', 'INVALID'],
    ['-1h', 'INVALID'],
    ['99999999999d', 'INVALID'],
  ];
  for (const [text, expected] of table) {
    if (expected === 'INVALID') assert.throws(() => parseDuration(text), { code: 'INVALID' }, text);
    else assert.equal(parseDuration(text), expected, text);
  }
});

test('formatDuration gives back a spelling parseDuration reads', () => {
  for (const ms of [0, 250, 90_000, 5_400_000, 172_800_000 + 1000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(5_400_000), '1h30m');
});

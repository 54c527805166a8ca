import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bar } from './health-report-text.js';

const cases: [number, number, string][] = [
  [0, 10, ''],
  [5, 0, ''],
  [10, 10, '█'.repeat(30)],
  [5, 10, '█'.repeat(15)],
  [1, 1000, '▏'], // tiny but present: never an empty bar for a non-zero value
  [1, 16, '█▉'], // 30 * 8 / 16 = 15 eighths: one whole block and seven eighths
];
for (const [value, max, expected] of cases) {
  test(`bar(${value}, ${max})`, () => assert.equal(bar(value, max), expected));
}

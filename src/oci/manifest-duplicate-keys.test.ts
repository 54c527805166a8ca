import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findDuplicateKey } from './manifest-duplicate-keys.js';

test('no duplicates: the same key in sibling objects, keys inside strings, escapes', () => {
  for (const text of [
    '{}',
    '[]',
    '"a"',
    '{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}',
    '{"a":"\\"a\\":1,","b":"{\\"a\\":2}"}',
    '{"a\\\\":1,"a":2}',
    '{"x":[1,[2,{"x":3}],{"x":[]}]}',
    ' { "a" : [ ] , "b" : { } } ',
  ]) {
    assert.equal(findDuplicateKey(text), undefined, text);
  }
});

test('duplicates at any depth, named by their path', () => {
  const cases: [string, string][] = [
    ['{"a":1,"a":2}', 'a'],
    ['{"mediaType":"x","config":{},"mediaType":"y"}', 'mediaType'],
    ['{"layers":[{"digest":"a","size":1},{"size":2,"digest":"b","digest":"c"}]}', 'layers[1].digest'],
    ['{"annotations":{"k":"1","k":"2"}}', 'annotations.k'],
    ['{"m":[[{"a":{"b":1,"b":2}}]]}', 'm[0][0].a.b'],
    // The same key spelt with an escape is the same key to every parser.
    ['{"digest":"a","\\u0064igest":"b"}', 'digest'],
    ['{"a":{},"a":[]}', 'a'],
    ['[1,{"a":1,"a":2}]', '[1].a'],
  ];
  for (const [text, path] of cases) assert.equal(findDuplicateKey(text), path, text);
});

test('a deep document does not exhaust the call stack', () => {
  const depth = 100_000;
  const text = `${'{"a":'.repeat(depth)}{"b":1,"b":2}${'}'.repeat(depth)}`;
  assert.equal(findDuplicateKey(text)?.endsWith('a.b'), true);
});

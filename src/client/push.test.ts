import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseImageLocation } from './image-location.js';
import { tagsToPush } from './push.js';

test('the tags a push sets: the destination own tag, then the extra ones, each once', () => {
  const cases: { to: string; destinationTags: string[]; extra: string[]; want: string[] }[] = [
    { to: 'docker://r.example/team/app:v1', destinationTags: ['v1'], extra: [], want: ['v1'] },
    { to: 'docker://r.example/team/app:v1', destinationTags: ['v1'], extra: ['1', 'v1'], want: ['v1', '1'] },
    // No tag in the destination means latest, unless the import file lists tags: then only those.
    { to: 'docker://r.example/team/app', destinationTags: ['latest'], extra: [], want: ['latest'] },
    { to: 'docker://r.example/team/app', destinationTags: ['latest'], extra: ['a', 'b'], want: ['a', 'b'] },
    { to: 'oci:/tmp/layout', destinationTags: [], extra: ['a'], want: ['a'] },
    { to: 'oci:/tmp/layout:v2', destinationTags: ['v2'], extra: ['v2'], want: ['v2'] },
  ];
  for (const c of cases)
    assert.deepEqual(
      tagsToPush(parseImageLocation(c.to), c.destinationTags, c.extra),
      c.want,
      JSON.stringify(c),
    );
});

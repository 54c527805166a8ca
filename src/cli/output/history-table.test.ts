import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HistoryRow } from '../../client/image-inspection.js';
import { formatHistory } from './history-table.js';

const rows: HistoryRow[] = [
  {
    created: '2026-12-01T10:00:00Z',
    createdBy: '/bin/sh -c apt-get update &&\n\tapt-get install -y curl',
    size: 52_428_800,
    layer: `sha256:${'a'.repeat(64)}`,
    emptyLayer: false,
    comment: '',
  },
  {
    created: '2026-12-01T09:59:00Z',
    createdBy: 'CMD ["sh"]',
    size: 0,
    layer: null,
    emptyLayer: true,
    comment: 'buildkit.dockerfile.v0',
  },
  {
    created: '2026-11-30T08:00:00Z',
    createdBy: 'ADD file:0123 in / \u001b]0;pwned\u0007\u001b[2J',
    size: 1234,
    layer: `sha256:${'b'.repeat(64)}`,
    emptyLayer: false,
    comment: '',
  },
];

// Was: `berth history IMAGE` on a terminal printed tab-separated fields that did not line up.
test('on a terminal the columns line up, CREATED BY last, one line per step', () => {
  const text = formatHistory(rows, { terminal: true });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 1 + rows.length);
  const head = lines[0] as string;
  assert.match(head, /^LAYER\s+CREATED\s+SIZE\s+COMMENT\s+CREATED BY$/);
  const expected = [
    ['2026-12-01T10:00:00Z', '50.0 MiB', '', '/bin/sh -c apt-get update && apt-get install -y curl'],
    ['2026-12-01T09:59:00Z', '0 B', 'buildkit.dockerfile.v0', 'CMD ["sh"]'],
    ['2026-11-30T08:00:00Z', '1.21 KiB', '', 'ADD file:0123 in / ]0;pwned [2J'],
  ];
  const starts = ['CREATED', 'SIZE', 'COMMENT', 'CREATED BY'].map((column) => head.indexOf(` ${column}`) + 1);
  for (const [i, line] of lines.slice(1).entries()) {
    for (const [c, at] of starts.entries()) {
      const value = expected[i]?.[c] as string;
      assert.equal(line[at - 1], ' ', `line ${i + 1}, column ${c}: ${JSON.stringify(line)}`);
      assert.ok(
        line.slice(at).startsWith(value),
        `line ${i + 1} has "${value}" at ${at}: ${JSON.stringify(line)}`,
      );
    }
  }
  assert.ok(lines[1]?.endsWith('/bin/sh -c apt-get update && apt-get install -y curl'));
  assert.match(
    lines[2] as string,
    /^<missing>\s+2026-12-01T09:59:00Z\s+0 B\s+buildkit\.dockerfile\.v0\s+CMD \["sh"\]$/,
  );
  assert.doesNotMatch(text, /\t/);
});

test('not on a terminal: tab-separated, five fields a line, no control characters from the config', () => {
  const text = formatHistory(rows, { terminal: false });
  const lines = text.replace(/\n$/, '').split('\n');
  assert.equal(lines[0], 'LAYER\tCREATED\tCREATED BY\tSIZE\tCOMMENT');
  for (const line of lines) assert.equal(line.split('\t').length, 5, JSON.stringify(line));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
  assert.doesNotMatch(text.replace(/[\t\n]/g, ''), /[\u0000-\u001f\u007f]/);
  assert.equal(lines[3]?.split('\t')[2], 'ADD file:0123 in / ]0;pwned [2J');
});

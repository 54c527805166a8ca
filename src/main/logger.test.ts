import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, formatLogLine, resolveLogFormat } from './logger.js';

test('text logs: one readable line per record, fields after the message', () => {
  const lines: string[] = [];
  const log = createLogger('info', { format: 'text', out: { write: (line: string) => lines.push(line) } });
  log.info({ url: 'http://127.0.0.1:5000', repo: 'team/app', size: 12 }, 'registry listening');
  log.debug('not at this level');
  assert.equal(lines.length, 1);
  assert.match(
    lines[0] as string,
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}registry listening {2}url=http:\/\/127\.0\.0\.1:5000 repo=team\/app size=12\n$/,
  );
});

test('text logs: an error shows its message inline and its stack below', () => {
  const lines: string[] = [];
  const log = createLogger('info', { format: 'text', out: { write: (line: string) => lines.push(line) } });
  log.error({ err: new Error('disk on fire') }, 'request failed');
  const [head, ...stack] = (lines[0] as string).trimEnd().split('\n');
  assert.match(head as string, /ERROR request failed {2}err="disk on fire"$/);
  assert.ok(stack.length > 0 && stack.every((line) => line.startsWith('    at ')));
});

test('text logs: values from requests cannot send escape sequences to the terminal', () => {
  const line = formatLogLine(
    JSON.stringify({
      level: 40,
      time: '2026-12-07T20:00:00.000Z',
      msg: 'refused',
      repo: 'a\x1b[2Jb',
      n: { x: '\x07' },
    }),
  );
  assert.ok(!line.includes('\x07') && !line.includes('\x1b'), 'no raw control character');
  assert.match(line, /repo="a\\u001b\[2Jb"/);
});

test('auto is text on a terminal and JSON elsewhere; an explicit format wins', () => {
  assert.equal(resolveLogFormat('auto', true), 'text');
  assert.equal(resolveLogFormat('auto', false), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('text', false), 'text');
});

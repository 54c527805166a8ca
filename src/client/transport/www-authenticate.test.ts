import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate } from './www-authenticate.js';

test('parses Bearer and Basic challenges, quoted commas and escapes', () => {
  assert.deepEqual(
    parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push"',
    ),
    [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:team/app:pull,push',
        },
      },
    ],
  );
  assert.deepEqual(parseWwwAuthenticate('Basic realm="basic-realm"'), [
    { scheme: 'basic', params: { realm: 'basic-realm' } },
  ]);
  assert.deepEqual(
    parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", charset=UTF-8, Bearer realm="r"'),
    [
      { scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } },
      { scheme: 'bearer', params: { realm: 'r' } },
    ],
  );
  assert.deepEqual(parseWwwAuthenticate(''), []);
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../clock/clock.js';
import { BerthError } from '../../oci/errors.js';
import { type AuthCredentials, authMiddleware } from './auth-middleware.js';
import { httpTransport } from './http-transport.js';
import { compose } from './transport.js';

/**
 * A registry that wants Docker token auth, with a token server that issues tokens valid for one second of
 * `clock`, the time the fake and the clients read: tests move it instead of waiting.
 */
interface Fake {
  server: Server;
  base: string;
  tokenRequests: { scope: string[]; auth: string | undefined; method: string; body: string }[];
  tokens: Map<string, { scope: string[]; expires: number }>;
  basicOnly: boolean;
}

const clock = new ManualClock();

const fake: Fake = {
  server: createServer(),
  base: '',
  tokenRequests: [],
  tokens: new Map(),
  basicOnly: false,
};

async function body(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

before(async () => {
  fake.server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', fake.base);
    const text = await body(req);
    if (url.pathname === '/token') {
      const form = new URLSearchParams(text);
      const scope =
        req.method === 'POST' ? (form.get('scope')?.split(' ') ?? []) : url.searchParams.getAll('scope');
      fake.tokenRequests.push({
        scope,
        auth: req.headers.authorization,
        method: req.method ?? '',
        body: text,
      });
      const good = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
      const ok = req.headers.authorization === good || form.get('refresh_token') === 'refresh-me';
      if (!ok) {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const token = randomBytes(8).toString('hex');
      fake.tokens.set(token, { scope, expires: clock.now() + 1000 });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 1 }));
      return;
    }
    const needed = `repository:${url.pathname.replace(/^\/v2\/(.+)\/manifests\/.*$/, '$1')}:pull`;
    if (fake.basicOnly) {
      if (req.headers.authorization === `Basic ${Buffer.from('alice:secret').toString('base64')}`)
        res.writeHead(200).end(text);
      else res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      return;
    }
    const token = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = token ? fake.tokens.get(token) : undefined;
    if (grant && grant.expires > clock.now() && grant.scope.includes(needed)) {
      res.writeHead(200).end(text);
      return;
    }
    res
      .writeHead(401, {
        'www-authenticate': `Bearer realm="${fake.base}/token",service="fake",scope="${needed}"`,
        'content-type': 'application/json',
      })
      .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));

function client(credentials: AuthCredentials | undefined) {
  const base = httpTransport({ tls: () => ({ verify: true }) });
  const auth = authMiddleware({ credentials: async () => credentials, tokenTransport: base, clock });
  const send = compose(base, auth);
  return {
    get: async (repo: string, init: { body?: Buffer | Readable; method?: string } = {}) => {
      const response = await send({
        method: init.method ?? 'GET',
        url: new URL(`/v2/${repo}/manifests/x`, fake.base),
        scope: [`repository:${repo}:pull`],
        ...(init.body ? { body: init.body } : {}),
      });
      const text = await response.body.text();
      return { status: response.status, text };
    },
    close: base.close,
  };
}

test('bearer: challenge, token for the scope, retry, then the cached token goes ahead', async () => {
  fake.tokenRequests.length = 0;
  const c = client({ username: 'alice', password: 'secret' });
  try {
    assert.equal((await c.get('team/app')).status, 200);
    assert.equal((await c.get('team/app')).status, 200);
    assert.equal(fake.tokenRequests.length, 1, 'the second request reused the token');
    assert.deepEqual(fake.tokenRequests[0]?.scope, ['repository:team/app:pull']);
    assert.equal((await c.get('team/other')).status, 200);
    assert.equal(fake.tokenRequests.length, 2, 'another scope, another token');
    // The token lives one second: after that it is fetched again, before or after a 401.
    clock.advance(1100);
    assert.equal((await c.get('team/app')).status, 200);
    assert.equal(fake.tokenRequests.length, 3);
  } finally {
    await c.close();
  }
});

test('requests that need the same token at once share one token request', async () => {
  fake.tokenRequests.length = 0;
  const c = client({ username: 'alice', password: 'secret' });
  try {
    assert.equal((await c.get('team/first')).status, 200);
    fake.tokenRequests.length = 0;
    const results = await Promise.all(Array.from({ length: 5 }, () => c.get('team/shared')));
    for (const r of results) assert.equal(r.status, 200);
    assert.equal(fake.tokenRequests.length, 1);
  } finally {
    await c.close();
  }
});

test('a token that dies mid-push: a streamed body gets the 401 back, the next request refreshes', async () => {
  fake.tokenRequests.length = 0;
  const c = client({ username: 'alice', password: 'secret' });
  try {
    assert.equal((await c.get('team/app')).status, 200);
    fake.tokens.clear();
    const streamed = await c.get('team/app', { method: 'PUT', body: Readable.from([Buffer.from('chunk')]) });
    assert.equal(streamed.status, 401, 'a stream cannot be sent twice');
    const replayable = await c.get('team/app', { method: 'PUT', body: Buffer.from('chunk') });
    assert.equal(replayable.status, 200);
    assert.equal(replayable.text, 'chunk');
  } finally {
    await c.close();
  }
});

test('wrong credentials and no credentials are clear errors', async () => {
  const wrong = client({ username: 'alice', password: 'nope' });
  try {
    await assert.rejects(
      wrong.get('team/app'),
      (e: unknown) =>
        e instanceof BerthError && e.code === 'UNAUTHORIZED' && /refused the credentials/.test(e.message),
    );
  } finally {
    await wrong.close();
  }
  const anonymous = client(undefined);
  try {
    await assert.rejects(anonymous.get('team/app'), /authentication required: run `berth login/);
  } finally {
    await anonymous.close();
  }
});

test('identity tokens are exchanged with grant_type=refresh_token', async () => {
  fake.tokenRequests.length = 0;
  const c = client({ identityToken: 'refresh-me' });
  try {
    assert.equal((await c.get('team/app')).status, 200);
    assert.equal(fake.tokenRequests[0]?.method, 'POST');
    assert.match(fake.tokenRequests[0]?.body ?? '', /grant_type=refresh_token/);
  } finally {
    await c.close();
  }
});

test('basic challenges get basic credentials', async () => {
  fake.basicOnly = true;
  const c = client({ username: 'alice', password: 'secret' });
  try {
    assert.equal((await c.get('team/app')).status, 200);
    assert.equal(
      (await c.get('team/app', { method: 'PUT', body: Readable.from([Buffer.from('x')]) })).status,
      200,
      'sent ahead once known',
    );
  } finally {
    fake.basicOnly = false;
    await c.close();
  }
});

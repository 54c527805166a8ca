// Registry tokens end to end: what GET /token returns (shape, JWT header and claims, the grant as the
// intersection of what was asked and what the account has), tokens that must be refused (tampered claims or
// signature, another key, `alg: none`, HS256 with our public key, wrong audience or issuer, expired, not yet
// valid), login rate limiting per user and per source address, the audit rows of logins and refusals, and
// the guards on a network address (no `auth: none`, no plain HTTP unless asked, the self-signed CA).
// Forged tokens are signed with the server's own key read from its store, so that each forgery differs from
// a valid token in exactly one respect (a control token made the same way is accepted).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { type Clock, ManualClock } from '../../src/clock/clock.js';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  AuthorizedClient,
  accessOf,
  addMember,
  addProject,
  addRobot,
  addUser,
  auditRows,
  basic,
  bootstrapAdmin,
  decodeJwt,
  encodeJwtPart,
  errorCodeOf,
  getToken,
  MANIFEST_ACCEPT,
  parseChallenge,
  requestToken,
  SERVICE,
} from '../support/access-fixtures.js';
import { makeImage, randomBlob } from '../support/images.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('registry tokens', { concurrency: 4 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const start = async (config: Record<string, unknown> = {}, clock?: Clock): Promise<RunningServer> => {
    const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-tokens-');
    const server = await startTestServer({
      data,
      config: { 'auth.mode': 'token', ...config },
      ...(clock ? { clock } : {}),
    });
    cleanups.push(() => server.close());
    return server;
  };

  describe('the token endpoint, grants and forged tokens', { concurrency: 1 }, () => {
    let server: RunningServer;
    let url: string;
    let admin: Account;
    let dev: Account;
    let guest: Account;
    let maint: Account;
    let outsider: Account;
    let robot: Account;
    let kid: string;
    let ourKey: Key;
    let ourPublicJwk: JWK;
    let devGrantsVersion: number;
    const image = makeImage();

    before(async () => {
      server = await start();
      url = server.url;
      admin = bootstrapAdmin(server);
      await addProject(server, 'team', false);
      await addProject(server, 'pub', true);
      [dev, guest, maint, outsider] = (await Promise.all(
        ['dev', 'guest', 'maint', 'outsider'].map((n) => addUser(server, n, `pw-${n}`)),
      )) as [Account, Account, Account, Account];
      await addMember(server, 'team', dev, 'developer');
      await addMember(server, 'team', guest, 'guest');
      await addMember(server, 'team', maint, 'maintainer');
      robot = await addRobot(server, 'robot$ci', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
      await addRobot(server, 'robot$old', [{ repo: 'team/*', actions: ['pull'] }], {
        expiresAt: Date.now() - 1000,
        secret: 'old-secret',
      });
      const client = new AuthorizedClient(url, basic(admin));
      await client.pushImage('team/app', 'v1', image);
      await client.pushImage('pub/app', 'v1', image);
      const [key] = await server.metadata.access.signingKeys();
      assert.ok(key, 'the server keeps its signing key in the store');
      kid = key.kid;
      const jwk = JSON.parse(key.privateJwk) as JWK;
      ourKey = (await importJWK(jwk, 'ES256')) as Key;
      const { d: _d, ...publicJwk } = jwk;
      ourPublicJwk = publicJwk;
      devGrantsVersion = (await server.metadata.access.getUser('dev'))?.grantsVersion ?? -1;
    });

    const manifestPath = '/v2/team/app/manifests/v1';
    /** GET of team/app:v1 with a bearer token: the status and the challenge's `error`, if any. */
    const readWith = async (token: string, path = manifestPath) => {
      const res = await fetch(`${url}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: MANIFEST_ACCEPT },
      });
      const code = res.status === 200 ? undefined : await errorCodeOf(res);
      const header = res.headers.get('www-authenticate');
      return { status: res.status, code, error: header ? parseChallenge(header).error : undefined };
    };
    const refused = { status: 401, code: 'UNAUTHORIZED', error: 'invalid_token' };

    /** Claims as Berth writes them, for `sub` with pull on team/app, valid now. */
    const claims = (sub = 'dev'): Record<string, unknown> => {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: 'berth',
        aud: SERVICE,
        sub,
        iat: now,
        nbf: now - 5,
        exp: now + 300,
        jti: randomUUID(),
        access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }],
        // What the account may do has a version; a token of an older one is retired (issue 9, point 8).
        gv: sub === 'dev' ? devGrantsVersion : 0,
      };
    };
    const sign = (
      payload: Record<string, unknown>,
      key: Key = ourKey,
      header: Record<string, unknown> = {},
    ) => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT', ...header }).sign(key);

    test('GET /token answers {token, access_token, expires_in, issued_at} with an ES256 JWT of ours', async () => {
      const before = Date.now();
      const reply = await requestToken(url, dev, ['repository:team/app:pull']);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(Object.keys(reply.body).sort(), ['access_token', 'expires_in', 'issued_at', 'token']);
      const { token, access_token, expires_in, issued_at } = reply.body as Record<string, unknown>;
      assert.equal(access_token, token);
      assert.equal(expires_in, 300);
      assert.equal(typeof issued_at, 'string');
      const issued = Date.parse(issued_at as string);
      assert.ok(issued >= before - 1500 && issued <= Date.now() + 1000, `issued_at ${issued_at}`);
      assert.equal(reply.headers.get('cache-control'), 'no-store');

      const jwt = decodeJwt(token as string);
      assert.deepEqual(jwt.header, { alg: 'ES256', kid, typ: 'JWT' });
      const p = jwt.payload;
      assert.equal(p.iss, 'berth');
      assert.equal(p.aud, SERVICE);
      assert.equal(p.sub, 'dev');
      assert.equal((p.exp as number) - (p.iat as number), 300);
      assert.ok((p.nbf as number) <= (p.iat as number));
      assert.equal(typeof p.jti, 'string');
      assert.deepEqual(p.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
      // The signature checks out with the public half of the key the server keeps.
      await jwtVerify(token as string, await importJWK(ourPublicJwk, 'ES256'), {
        algorithms: ['ES256'],
        issuer: 'berth',
        audience: SERVICE,
      });
      assert.equal((await readWith(token as string)).status, 200);
    });

    test('the grant is what was asked intersected with what the account has', async () => {
      const all = 'repository:team/app:pull,push,delete';
      const granted = async (account: Account | undefined, scope: string, name = 'team/app') =>
        accessOf(await getToken(url, account, [scope]), 'repository', name);
      assert.deepEqual(await granted(dev, all), ['pull', 'push']);
      assert.deepEqual(await granted(guest, all), ['pull']);
      assert.deepEqual(await granted(maint, all), ['delete', 'pull', 'push']);
      assert.deepEqual(await granted(admin, all), ['delete', 'pull', 'push']);
      assert.deepEqual(await granted(outsider, all), []);
      assert.deepEqual(await granted(undefined, all), []);
      assert.deepEqual(await granted(dev, 'repository:team/app:push'), ['push']);
      assert.deepEqual(await granted(undefined, 'repository:pub/app:pull,push,delete', 'pub/app'), ['pull']);
      assert.deepEqual(await granted(outsider, 'repository:pub/app:pull,push', 'pub/app'), ['pull']);
      // `*` asks for everything the account has.
      assert.deepEqual(await granted(dev, 'repository:team/app:*'), ['pull', 'push']);
      assert.deepEqual(await granted(maint, 'repository:team/app:*'), ['delete', 'pull', 'push']);
      assert.deepEqual(await granted(undefined, 'repository:pub/app:*', 'pub/app'), ['pull']);
      assert.deepEqual(await granted(undefined, 'repository:team/app:*'), []);
    });

    test('registry:catalog:* for accounts only; several scopes at once; malformed scopes left out', async () => {
      const catalog = ['registry:catalog:*'];
      assert.deepEqual(accessOf(await getToken(url, dev, catalog), 'registry', 'catalog'), ['*']);
      assert.deepEqual(accessOf(await getToken(url, robot, catalog), 'registry', 'catalog'), ['*']);
      assert.equal(accessOf(await getToken(url, undefined, catalog), 'registry', 'catalog'), undefined);

      const token = await getToken(url, dev, [
        'repository:team/app:pull,push',
        'repository:pub/app:pull repository:team/other:pull',
        'repository:Team/App:pull',
        'repository:team/../pub/app:push',
        'repository:team%2fapp:pull',
        'garbage',
        'blob:team/app:pull',
      ]);
      assert.deepEqual(decodeJwt(token).payload.access, [
        { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'pub/app', actions: ['pull'] },
        { type: 'repository', name: 'team/other', actions: ['pull'] },
      ]);
    });

    test('robots get tokens for their globs only; an expired robot gets none', async () => {
      const token = await getToken(url, robot, [
        'repository:team/app:pull,push,delete',
        'repository:team/a/b:pull,push',
        'repository:pub/app:push',
      ]);
      const jwt = decodeJwt(token);
      assert.equal(jwt.payload.sub, 'robot$ci');
      assert.deepEqual(jwt.payload.access, [
        { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'team/a/b', actions: [] },
        { type: 'repository', name: 'pub/app', actions: [] },
      ]);
      const post = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(post.status, 202);
      const del = await fetch(`${url}/v2/team/app/manifests/v1`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await getToken(url, robot, ['repository:team/app:delete'])}` },
      });
      assert.equal(del.status, 403);
      assert.equal(await errorCodeOf(del), 'DENIED');

      const expired = await requestToken(url, { name: 'robot$old', password: 'old-secret' }, [
        'repository:team/app:pull',
      ]);
      assert.equal(expired.status, 401);
    });

    test('wrong credentials at /token: 401 UNAUTHORIZED; only Basic is taken there; POST password grant', async () => {
      for (const account of [
        { name: 'dev', password: 'wrong' },
        { name: 'nobody', password: 'pw-dev' },
        { name: 'robot$ci', password: 'wrong' },
      ]) {
        const reply = await requestToken(url, account, ['repository:team/app:pull']);
        assert.equal(reply.status, 401, account.name);
        assert.equal((reply.body.errors as { code: string }[])[0]?.code, 'UNAUTHORIZED');
        assert.equal(reply.body.token, undefined);
      }
      const token = await getToken(url, dev, []);
      const bearerAtToken = await fetch(`${url}/token?service=${SERVICE}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(bearerAtToken.status, 401);

      const post = (form: Record<string, string>) =>
        fetch(`${url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        });
      const ok = await post({
        grant_type: 'password',
        username: 'dev',
        password: 'pw-dev',
        service: SERVICE,
        scope: 'repository:team/app:pull,push,delete',
      });
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { access_token: string };
      assert.deepEqual(accessOf(body.access_token, 'repository', 'team/app'), ['pull', 'push']);
      assert.equal((await post({ grant_type: 'password', username: 'dev', password: 'nope' })).status, 401);
      assert.equal((await post({ grant_type: 'refresh_token', refresh_token: 'x' })).status, 400);
    });

    test('a token without the scope a permitted action needs: 401 insufficient_scope; not permitted: 403', async () => {
      const pullOnly = await getToken(url, dev, ['repository:team/app:pull']);
      const res = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pullOnly}` },
      });
      assert.equal(res.status, 401);
      assert.equal(await errorCodeOf(res), 'UNAUTHORIZED');
      assert.deepEqual(parseChallenge(res.headers.get('www-authenticate')), {
        scheme: 'Bearer',
        realm: `${url}/token`,
        service: SERVICE,
        scope: 'repository:team/app:pull,push',
        error: 'insufficient_scope',
      });
      // The scope the challenge names gets a token that works.
      const wider = await getToken(url, dev, ['repository:team/app:pull,push']);
      const retry = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${wider}` },
      });
      assert.equal(retry.status, 202);
      // A token names repositories exactly: team/app's grant opens neither team/app2 nor pub/app's push.
      assert.equal((await readWith(pullOnly, '/v2/team/app2/manifests/v1')).status, 401);
      const guestToken = await getToken(url, guest, ['repository:team/app:pull,push']);
      const guestPush = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${guestToken}` },
      });
      assert.equal(guestPush.status, 403);
      assert.equal(await errorCodeOf(guestPush), 'DENIED');
    });

    test('a forged token made like ours is accepted (the control for the forgeries below)', async () => {
      assert.equal((await readWith(await sign(claims()))).status, 200);
    });

    test('tampered tokens are refused: access or subject changed, signature changed or cut', async () => {
      const token = await getToken(url, guest, ['repository:team/app:pull']);
      assert.equal((await readWith(token)).status, 200);
      const { parts, payload } = decodeJwt(token);
      const [h, , s] = parts;
      const withPayload = (change: Record<string, unknown>) =>
        `${h}.${encodeJwtPart({ ...payload, ...change })}.${s}`;

      const widened = withPayload({
        access: [
          { type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] },
          { type: 'repository', name: 'team/other', actions: ['pull'] },
        ],
      });
      assert.deepEqual(await readWith(widened), refused);
      const push = await fetch(`${url}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${widened}` },
      });
      assert.equal(push.status, 401);
      assert.deepEqual(await readWith(withPayload({ sub: 'admin' })), refused);
      assert.deepEqual(await readWith(withPayload({ exp: (payload.exp as number) + 3600 })), refused);

      const flipped = s.slice(0, 20) + (s[20] === 'A' ? 'B' : 'A') + s.slice(21);
      assert.deepEqual(await readWith(`${h}.${parts[1]}.${flipped}`), refused);
      assert.deepEqual(await readWith(`${h}.${parts[1]}.${s.slice(0, -4)}`), refused);
      assert.deepEqual(await readWith(`${h}.${parts[1]}.`), refused);
      assert.deepEqual(await readWith('not-a-jwt'), refused);
      // The untouched token still works: the refusals were about the changes.
      assert.equal((await readWith(token)).status, 200);
    });

    test('tokens signed with another key, with alg none, or HS256 over our public key are refused', async () => {
      const other = await generateKeyPair('ES256');
      assert.deepEqual(await readWith(await sign(claims(), other.privateKey)), refused);

      const unsigned = (header: Record<string, unknown>) =>
        `${encodeJwtPart(header)}.${encodeJwtPart(claims())}.`;
      assert.deepEqual(await readWith(unsigned({ alg: 'none', typ: 'JWT' })), refused);
      assert.deepEqual(await readWith(unsigned({ alg: 'none', kid, typ: 'JWT' })), refused);
      assert.deepEqual(await readWith(unsigned({ alg: 'NONE', kid })), refused);

      // Algorithm confusion: an HMAC keyed with the public key, which anyone may know.
      for (const secret of [JSON.stringify(ourPublicJwk), `${ourPublicJwk.x}${ourPublicJwk.y}`]) {
        const hs = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
          .sign(new TextEncoder().encode(secret));
        assert.deepEqual(await readWith(hs), refused);
      }
    });

    test('a token from another Berth (its own key, same issuer and audience) is refused', async () => {
      const elsewhere = await start();
      const token = await getToken(elsewhere.url, bootstrapAdmin(elsewhere), ['repository:team/app:pull']);
      assert.deepEqual(await readWith(token), refused);
    });

    test('wrong audience or issuer, expired, not yet valid, without exp or sub: refused', async () => {
      const now = Math.floor(Date.now() / 1000);
      const variants: [string, Record<string, unknown>][] = [
        ['audience of another service', { aud: 'other-registry' }],
        ['audience list without ours', { aud: ['other-registry'] }],
        // Issue 9, finding 1: an admin API token, or one naming both uses, never opens /v2/.
        ['audience of the admin API', { aud: 'berth-api' }],
        ['both audiences', { aud: [SERVICE, 'berth-api'] }],
        // Issue 9, point 8: made before the account's grants last changed.
        ['an older grants version', { gv: devGrantsVersion - 1 }],
        ['no grants version', { gv: undefined }],
        ['issuer of another', { iss: 'evil' }],
        ['expired', { iat: now - 600, nbf: now - 605, exp: now - 1 }],
        ['not valid yet', { nbf: now + 120 }],
      ];
      for (const [what, change] of variants) {
        assert.deepEqual(await readWith(await sign({ ...claims(), ...change })), refused, what);
      }
      for (const missing of ['exp', 'sub']) {
        const payload = claims();
        delete payload[missing];
        assert.deepEqual(await readWith(await sign(payload)), refused, `without ${missing}`);
      }
    });

    test('audit: login success and failure with source, robots as robots, denied actions with who/what/where', async () => {
      const seen = new Set((await auditRows(server)).map((r) => r.id));
      await getToken(url, dev, ['repository:team/app:pull']);
      await requestToken(url, { name: 'dev', password: 'bad-guess' }, []);
      await getToken(url, robot, ['repository:team/app:pull']);
      const guestToken = await getToken(url, guest, ['repository:team/app:pull,push']);
      const denied = await fetch(`${url}/v2/team/app/manifests/v2`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${guestToken}`, 'content-type': image.mediaType },
        body: image.manifest.bytes,
      });
      assert.equal(denied.status, 403);
      const basicDenied = await fetch(`${url}/v2/team/app/blobs/${image.layers[0]?.digest}`, {
        method: 'DELETE',
        headers: { authorization: basic(dev) },
      });
      assert.equal(basicDenied.status, 403);

      const pick = (r: { event: string; actor: string; actorKind: string; source?: string | undefined }) => ({
        event: r.event,
        actor: r.actor,
        actorKind: r.actorKind,
        source: r.source,
      });
      const devRows = (await auditRows(server, 'dev')).map(pick);
      assert.ok(
        devRows.some(
          (r) => r.event === 'login.succeeded' && r.actorKind === 'user' && r.source === '127.0.0.1',
        ),
        JSON.stringify(devRows),
      );
      assert.ok(
        devRows.some((r) => r.event === 'login.failed' && r.actorKind === 'user' && r.source === '127.0.0.1'),
        JSON.stringify(devRows),
      );
      const robotRows = (await auditRows(server, 'robot$ci')).map(pick);
      assert.ok(
        robotRows.some((r) => r.event === 'login.succeeded' && r.actorKind === 'robot'),
        JSON.stringify(robotRows),
      );
      const deniedRows = (await auditRows(server))
        .filter((r) => r.event === 'access.denied' && !seen.has(r.id))
        .map((r) => ({
          actor: r.actor,
          actorKind: r.actorKind,
          repository: r.repository,
          action: r.action,
          source: r.source,
        }));
      // The push is refused twice: the token leaves it out (audited at /token), then the PUT is denied.
      assert.deepEqual(
        deniedRows.filter((r) => r.actor === 'guest' && r.action === 'push'),
        [
          { actor: 'guest', actorKind: 'user', repository: 'team/app', action: 'push', source: '127.0.0.1' },
          { actor: 'guest', actorKind: 'user', repository: 'team/app', action: 'push', source: '127.0.0.1' },
        ],
      );
      assert.deepEqual(
        deniedRows.filter((r) => r.actor === 'dev' && r.action === 'delete'),
        [{ actor: 'dev', actorKind: 'user', repository: 'team/app', action: 'delete', source: '127.0.0.1' }],
      );
    });

    test('a deleted robot or user: its unexpired token stops working', async () => {
      const temp = await addRobot(server, 'robot$temp', [{ repo: 'team/*', actions: ['pull', 'push'] }]);
      const user = await addUser(server, 'leaver', 'pw-leaver');
      await addMember(server, 'team', user, 'developer');
      const robotToken = await getToken(url, temp, ['repository:team/app:pull,push']);
      const userToken = await getToken(url, user, ['repository:team/app:pull,push']);
      const push = (token: string) =>
        fetch(`${url}/v2/team/app/blobs/uploads/?digest=${randomBlob(0).digest}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body: Buffer.alloc(0),
        });
      assert.equal((await push(robotToken)).status, 201);
      assert.equal((await push(userToken)).status, 201);
      // What `berth robot rm` / `berth user rm` do to the store.
      assert.ok(await server.metadata.access.deleteRobot(temp.name));
      assert.ok(await server.metadata.access.deleteUser(user.name));
      server.access?.invalidate();
      assert.equal((await requestToken(url, temp, ['repository:team/app:pull'])).status, 401);
      const robotAfter = await push(robotToken);
      const userAfter = await push(userToken);
      assert.deepEqual(
        { robot: robotAfter.status, user: userAfter.status },
        { robot: 401, user: 401 },
        'a revoked account keeps pushing with the token it had',
      );
    });
  });

  describe('a token lives expires_in seconds', { concurrency: 1 }, () => {
    test('a real token works, then is refused with invalid_token once expires_in (10 s) has passed', async () => {
      // The server's time: the token is dated by it, and expires when it is moved on, not by waiting.
      const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0, 400));
      const server = await start({ 'auth.token.expiresIn': 10 }, clock);
      const admin = bootstrapAdmin(server);
      await new AuthorizedClient(server.url, basic(admin)).pushImage('team/app', 'v1', makeImage());
      const reply = await requestToken(server.url, admin, ['repository:team/app:pull']);
      assert.equal(reply.body.expires_in, 10);
      assert.equal(reply.body.issued_at, '2026-06-01T12:00:00.000Z');
      const token = reply.body.token as string;
      const claims = decodeJwt(token).payload;
      const issuedAt = Math.floor(clock.now() / 1000);
      assert.deepEqual([claims.iat, claims.nbf, claims.exp], [issuedAt, issuedAt - 5, issuedAt + 10]);
      const read = () =>
        fetch(`${server.url}/v2/team/app/manifests/v1`, {
          headers: { authorization: `Bearer ${token}`, accept: MANIFEST_ACCEPT },
        });
      clock.advance(9000);
      assert.equal((await read()).status, 200, 'still valid a moment before exp');
      clock.set((issuedAt + 10) * 1000);
      const res = await read();
      assert.equal(res.status, 401);
      assert.equal(parseChallenge(res.headers.get('www-authenticate')).error, 'invalid_token');
    });
  });

  describe("login limits count on the server's clock", { concurrency: 1 }, () => {
    test('failed logins refuse the account for auth.loginWindow seconds of the clock, then let it in', async () => {
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      const server = await start({ 'auth.loginAttempts': 3, 'auth.loginWindow': 60 }, clock);
      const user = await addUser(server, 'tester', 'tester-password');
      const wrong = { name: 'tester', password: 'wrong-password' };
      for (let i = 0; i < 3; i++) assert.equal((await requestToken(server.url, wrong, [])).status, 401);
      assert.equal((await requestToken(server.url, user, [])).status, 429, 'three failures: refused');
      clock.advance(59_000);
      assert.equal((await requestToken(server.url, user, [])).status, 429, 'still inside the window');
      clock.advance(1000);
      assert.equal((await requestToken(server.url, user, [])).status, 200, 'the window has passed');
      const audit = (await auditRows(server, 'tester')).filter((r) => r.event === 'login.succeeded');
      assert.deepEqual(
        audit.map((r) => r.at),
        [Date.UTC(2026, 5, 1, 0, 1)],
        'the audit row is dated by the clock too',
      );
    });
  });

  describe('on a network address', { concurrency: 1 }, () => {
    test('auth none and plain HTTP are refused; --insecure-http and --tls self-signed start', async () => {
      const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-listen-');
      const refusal = async (config: Record<string, unknown>) => {
        try {
          const server = await startTestServer({ data, config: { listen: '0.0.0.0:0', ...config } });
          await server.close();
        } catch (error) {
          return { code: (error as { code?: string }).code, message: (error as Error).message };
        }
        assert.fail(`${JSON.stringify(config)} started on 0.0.0.0`);
      };
      const none = await refusal({ 'auth.mode': 'none' });
      assert.equal(none.code, 'CONFIG_INVALID');
      assert.match(none.message, /auth/);
      const plain = await refusal({ 'auth.mode': 'token' });
      assert.equal(plain.code, 'CONFIG_INVALID');
      assert.match(plain.message, /insecure/i);

      const insecure = await start({ listen: '0.0.0.0:0', 'http.insecureHttp': true });
      const port = insecure.hostPort.slice(insecure.hostPort.lastIndexOf(':') + 1);
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      assert.equal(res.status, 401);
      assert.equal(
        parseChallenge(res.headers.get('www-authenticate')).realm,
        `http://127.0.0.1:${port}/token`,
      );

      const tls = await start({ listen: '0.0.0.0:0', 'tls.selfSigned': true });
      assert.ok(tls.caPath);
      const agent = new Agent({ connect: { ca: await readFile(tls.caPath) } });
      cleanups.push(() => agent.close());
      const tlsPort = tls.hostPort.slice(tls.hostPort.lastIndexOf(':') + 1);
      for (const host of ['127.0.0.1', 'localhost']) {
        const r = await undiciFetch(`https://${host}:${tlsPort}/v2/`, { dispatcher: agent });
        assert.equal(r.status, 401, host);
        assert.equal(
          parseChallenge(r.headers.get('www-authenticate')).realm,
          `https://${host}:${tlsPort}/token`,
        );
      }
      // Without the CA the certificate is not trusted.
      await assert.rejects(fetch(`https://127.0.0.1:${tlsPort}/v2/`));
    });
  });
  // Login limits (per account and address, concurrency, lockouts, trusted proxies): login-limits.test.ts.
});

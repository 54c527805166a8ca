// Login limits against a real server (issue 9, findings 2 and 3): failures count per (account, source address)
// and per address, attempts are counted before the password is hashed so concurrency cannot pass the limit,
// password checks run a few at a time with the overflow refused at once, a credential checked a moment ago
// waits for nobody, and no limit lets one client lock out another. Requests come from several loopback
// addresses (a client socket bound to 127.0.0.2, 127.0.0.3, …), as `curl --interface 127.0.0.2` would.
// Every assertion is on outcomes (counts of 200/401/429), never on time.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  type Account,
  addProject,
  addRobot,
  addUser,
  auditRows,
  basic,
  bootstrapAdmin,
  SERVICE,
} from '../support/access-fixtures.js';
import { startTestServer } from '../support/registry-server.js';
import { tempDir } from '../support/temp.js';

/** Requests whose TCP connection starts from `address` (any of 127.0.0.0/8 reaches the server); the status. */
function from(address: string) {
  return (url: string, headers: Record<string, string> = {}): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(url, { headers, localAddress: address }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}

type Client = ReturnType<typeof from>;

function tally(statuses: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const status of statuses) out[status] = (out[status] ?? 0) + 1;
  return out;
}

describe('login limits', { concurrency: 1 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const start = async (config: Record<string, unknown> = {}): Promise<RunningServer> => {
    const data = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-limits-');
    const server = await startTestServer({ data, config: { 'auth.mode': 'token', ...config } });
    cleanups.push(() => server.close());
    return server;
  };

  describe('defaults: 10 failures per (account, address), 50 per address', { concurrency: 1 }, () => {
    let server: RunningServer;
    let admin: Account;
    let v2: string;
    const tokenUrl = () => `${server.url}/token?service=${SERVICE}`;

    before(async () => {
      server = await start();
      admin = bootstrapAdmin(server);
      v2 = `${server.url}/v2/`;
      await addProject(server, 'team', false);
    });

    const wrong = (name: string) => ({ authorization: basic({ name, password: 'wrong-password' }) });

    test('hey -n 300 -c 300 -H "Authorization: Basic victim:wrongpass" /v2/: exactly 10 × 401, 290 × 429, and logins go on meanwhile', async () => {
      await addUser(server, 'victim', 'victim-password');
      const attacker = from('127.0.0.2');
      const adminClient = from('127.0.0.1');
      // The admin logged in a moment ago: that credential is not checked again, so it waits behind nobody.
      assert.equal(await adminClient(tokenUrl(), { authorization: basic(admin) }), 200);

      const flood = Promise.all(Array.from({ length: 300 }, () => attacker(v2, wrong('victim'))));
      const during = await Promise.all([
        adminClient(tokenUrl(), { authorization: basic(admin) }),
        adminClient(v2, { authorization: basic(admin) }),
      ]);
      const statuses = await flood;
      // Before, concurrency let all 300 guesses through (300 × 401): each is now counted before it is hashed.
      assert.deepEqual(tally(statuses), { 401: 10, 429: 290 });
      assert.deepEqual(during, [200, 200], 'the admin logged in during the flood');
      const failed = (await auditRows(server, 'victim')).filter((r) => r.event === 'login.failed');
      assert.equal(failed.length, 10);
    });

    test('ten wrong passwords for guest (curl -u guest:x --interface 127.0.0.3, ×10) do not lock guest out from 127.0.0.4', async () => {
      const guest = await addUser(server, 'guest', 'guest-password');
      const attacker = from('127.0.0.3');
      const owner = from('127.0.0.4');
      const guesses: number[] = [];
      for (let i = 0; i < 10; i++) guesses.push(await attacker(v2, wrong('guest')));
      assert.deepEqual(tally(guesses), { 401: 10 });
      // Where the guesses came from, the limit holds, for the right password too (no oracle for the guesser).
      assert.equal(await attacker(v2, { authorization: basic(guest) }), 429);
      // The owner, elsewhere, is not locked out (before: 429 for five minutes).
      assert.equal(await owner(v2, { authorization: basic(guest) }), 200);
      assert.equal(await owner(tokenUrl(), { authorization: basic(guest) }), 200);
    });

    test('ten wrong secrets for robot$ci2 from 127.0.0.5 do not lock the robot out from 127.0.0.6', async () => {
      const robot = await addRobot(server, 'robot$ci2', [{ repo: 'team/*', actions: ['pull'] }]);
      const attacker = from('127.0.0.5');
      for (let i = 0; i < 10; i++) assert.equal(await attacker(tokenUrl(), wrong('robot$ci2')), 401);
      assert.equal(await attacker(tokenUrl(), { authorization: basic(robot) }), 429);
      assert.equal(await from('127.0.0.6')(tokenUrl(), { authorization: basic(robot) }), 200);
    });

    test('fifty wrong logins for made-up users from 127.0.0.7 do not lock out the real users behind that address', async () => {
      const regular = await addUser(server, 'regular', 'regular-password');
      const newcomer = await addUser(server, 'newcomer', 'newcomer-password');
      const nat: Client = from('127.0.0.7');
      // `regular` has logged in from this address before; `newcomer` never has.
      assert.equal(await nat(v2, { authorization: basic(regular) }), 200);
      server.access?.invalidate(); // forget the checked credential: the next login hashes again
      const spray: number[] = [];
      for (let i = 0; i < 50; i++) spray.push(await nat(v2, wrong(`made-up-${i}`)));
      assert.deepEqual(tally(spray), { 401: 50 });
      // Before, both got 429 for five minutes. A known account goes on as usual; an unknown one is checked
      // in the address's slow lane (one at a time), which is free now, so it gets in.
      assert.equal(await nat(v2, { authorization: basic(regular) }), 200);
      assert.equal(await nat(v2, { authorization: basic(newcomer) }), 200);
      // Further made-up names from the address are checked one at a time: a burst is mostly refused at once.
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => nat(v2, wrong(`more-${i}`))));
      const counts = tally(burst);
      assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 30, JSON.stringify(counts));
      assert.ok((counts[429] ?? 0) >= 1, `no burst guess was refused: ${JSON.stringify(counts)}`);
      // Other addresses never noticed.
      assert.equal(await from('127.0.0.8')(v2, { authorization: basic(newcomer) }), 200);
    });
  });

  test('password checks in flight are bounded (auth.loginChecks 1 + 2 queued): the overflow is 429 at once', async () => {
    const server = await start({
      'auth.loginAttempts': 10_000,
      'auth.loginChecks': { concurrency: 1, queue: 2 },
    });
    const admin = bootstrapAdmin(server);
    const v2 = `${server.url}/v2/`;
    const client = from('127.0.0.9');
    assert.equal(await client(v2, { authorization: basic(admin) }), 200);
    const flood = Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        client(v2, { authorization: basic({ name: `stranger-${i}`, password: 'x' }) }),
      ),
    );
    const during = await client(v2, { authorization: basic(admin) });
    const counts = tally(await flood);
    assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 100, JSON.stringify(counts));
    assert.ok((counts[429] ?? 0) >= 1, `nothing overflowed: ${JSON.stringify(counts)}`);
    assert.ok((counts[401] ?? 0) >= 3, `fewer checks than slots and queue: ${JSON.stringify(counts)}`);
    assert.equal(during, 200, 'a credential checked a moment ago does not queue behind guesses');
  });

  test('http.trustedProxies: X-Forwarded-For names the client only when the proxy is listed', async () => {
    const server = await start({ 'http.trustedProxies': ['127.0.0.10'] });
    const user = await addUser(server, 'carol', 'carol-password');
    const v2 = `${server.url}/v2/`;
    const proxy = from('127.0.0.10');
    const forwarded = (client: string, account: Account) => ({
      authorization: basic(account),
      'x-forwarded-for': client,
    });
    const wrong = { name: 'carol', password: 'wrong-password' };
    for (let i = 0; i < 10; i++) assert.equal(await proxy(v2, forwarded('203.0.113.7', wrong)), 401);
    // Behind the proxy, the guesser's address is limited, not the proxy's.
    assert.equal(await proxy(v2, forwarded('203.0.113.7', user)), 429);
    assert.equal(await proxy(v2, forwarded('203.0.113.8', user)), 200);
    const failed = (await auditRows(server, 'carol')).filter((r) => r.event === 'login.failed');
    assert.deepEqual(new Set(failed.map((r) => r.source)), new Set(['203.0.113.7']));

    // Anyone else's header is ignored: a client cannot pick a fresh address per guess.
    const direct = from('127.0.0.11');
    for (let i = 0; i < 10; i++)
      assert.equal(await direct(v2, forwarded(`198.51.100.${i}`, wrong)), 401, `guess ${i}`);
    assert.equal(await direct(v2, forwarded('198.51.100.99', wrong)), 429);
    const sources = (await auditRows(server, 'carol')).filter((r) => r.event === 'login.failed');
    assert.ok(sources.every((r) => !r.source?.startsWith('198.51.100.')));
  });
});

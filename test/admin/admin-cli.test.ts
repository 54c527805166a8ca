// The management CLI (berth user, robot, project, role, audit) as a child process against a real Berth with
// access checks on: logins from `berth login`, --username with --password-stdin, or --creds; tables and
// --json; and every failure as one `berth: …` line with a non-zero exit.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/main/server.js';
import {
  assertOk,
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  type CliResult,
  describeRun,
} from '../importer/importer-fixtures.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';

const ADMIN_PASSWORD = 'admin-password-1';

let server: RunningServer;
let work: string;
/** Logged in as admin with `berth login`. */
let admin: BerthEnv;
let envs = 0;

/** A fresh environment without credential helpers on PATH, so logins land in config.json. */
function freshEnv(): Promise<BerthEnv> {
  return berthEnv(join(work, `env-${++envs}`), { PATH: join(work, 'no-helpers') });
}

function run(be: BerthEnv, args: string[], input?: string): Promise<CliResult> {
  return berth(be, [...args, '--server', server.url], input === undefined ? {} : { input });
}

function json<T = Record<string, unknown>>(r: CliResult): T {
  assertOk(r);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    assert.fail(`--json printed something that is not JSON:\n${describeRun(r)}`);
  }
}

/** Whether a user name and password log in (checked straight against the API). */
async function logsIn(name: string, password: string): Promise<boolean> {
  const res = await fetch(new URL('/api/v1/me', server.url), {
    headers: { authorization: `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status === 200;
}

const scope = fileScope();

before(async () => {
  work = await tempDir(scope, 'berth-admin-cli-');
  server = await startTestServer({
    data: join(work, 'data'),
    config: { 'auth.mode': 'token' },
    adminPassword: ADMIN_PASSWORD,
  });
  admin = await freshEnv();
});
after(() => server.close());

describe('logging in', () => {
  test('without any login: one line saying how to log in', async () => {
    const r = await run(await freshEnv(), ['user', 'list']);
    assertOneLineFailure(r, /not logged in/, /berth login 127\.0\.0\.1:\d+/, /--server/, /BERTH_SERVER/);
  });

  test('berth login HOST, then commands use the stored login; --server HOST:PORT is probed like login', async () => {
    assertOk(
      await berth(admin, ['login', server.hostPort, '-u', 'admin', '--password-stdin'], {
        input: ADMIN_PASSWORD,
      }),
    );
    const r = assertOk(await run(admin, ['user', 'list']));
    assert.match(r.stdout, /^NAME\s+ADMIN\s+CREATED\n/);
    assert.match(r.stdout, /^admin\s+yes\s+\d{4}-/m);
    const probed = assertOk(await berth(admin, ['user', 'list', '--server', server.hostPort]));
    assert.match(probed.stdout, /^admin\s+yes/m);
    // BERTH_SERVER is the default server.
    const fromEnv = assertOk(await berth(admin, ['user', 'list'], { env: { BERTH_SERVER: server.url } }));
    assert.match(fromEnv.stdout, /^admin\s+yes/m);
  });

  test('--username with --password-stdin, and --creds, instead of a stored login', async () => {
    const be = await freshEnv();
    const r = assertOk(await run(be, ['project', 'list', '-u', 'admin', '--password-stdin'], ADMIN_PASSWORD));
    assert.match(r.stdout, /^NAME\s+VISIBILITY/);
    assertOk(await run(be, ['project', 'list', '--creds', `admin:${ADMIN_PASSWORD}`]));
    assertOneLineFailure(
      await run(be, ['user', 'list', '--creds', 'admin:wrong']),
      /refused the login of "admin"/,
    );
    assertOneLineFailure(
      await run(be, ['user', 'list', '--password-stdin'], 'x'),
      /--password-stdin needs --username/,
    );
  });

  test('plain HTTP to a host that is not loopback is refused before a password is sent', async () => {
    const r = await berth(admin, ['user', 'list', '--server', 'http://registry.invalid', '--creds', 'a:b']);
    assertOneLineFailure(r, /plain HTTP/);
  });
});

describe('berth user', () => {
  let alicePassword: string;

  test('add without a password prints a generated one, once', async () => {
    const r = assertOk(await run(admin, ['user', 'add', 'alice']));
    const m = /^Password \(shown once, store it now\): (\S+)$/m.exec(r.stdout);
    assert.ok(m, describeRun(r));
    alicePassword = m[1] as string;
    assert.ok(await logsIn('alice', alicePassword));
    const list = assertOk(await run(admin, ['user', 'list']));
    assert.ok(!list.stdout.includes(alicePassword));
  });

  test('add --password-stdin, --admin, --json', async () => {
    const r = assertOk(await run(admin, ['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n'));
    assert.equal(r.stdout, 'User bob created\n');
    assert.ok(await logsIn('bob', 'bob-password-1'));
    const created = json<{ name: string; admin: boolean; password: string }>(
      await run(admin, ['user', 'add', 'root2', '--admin', '--json']),
    );
    assert.equal(created.name, 'root2');
    assert.equal(created.admin, true);
    assert.ok(await logsIn('root2', created.password));
    // Both passwords on stdin when logging in with --username: the caller's first.
    const be = await freshEnv();
    assertOk(
      await run(
        be,
        ['user', 'add', 'carol', '--password-stdin', '-u', 'admin'],
        `${ADMIN_PASSWORD}\ncarol-password-1\n`,
      ),
    );
    assert.ok(await logsIn('carol', 'carol-password-1'));
  });

  test('list --json', async () => {
    const list = json<{ users: { name: string; admin: boolean }[] }>(
      await run(admin, ['user', 'list', '--json']),
    );
    assert.deepEqual(
      list.users.map((u) => `${u.name}:${u.admin}`),
      ['admin:true', 'alice:false', 'bob:false', 'carol:false', 'root2:true'],
    );
  });

  test('passwd: an admin for anyone; a user for themself, with their current password', async () => {
    assertOk(await run(admin, ['user', 'passwd', 'bob', '--password-stdin'], 'bob-password-2'));
    assert.ok(await logsIn('bob', 'bob-password-2'));
    const be = await freshEnv();
    assertOk(
      await run(
        be,
        ['user', 'passwd', 'bob', '-u', 'bob', '--password-stdin'],
        'bob-password-2\nbob-password-3\n',
      ),
    );
    assert.ok(await logsIn('bob', 'bob-password-3'));
    assert.ok(!(await logsIn('bob', 'bob-password-2')));
    // A user's own stored login follows the change.
    assertOk(
      await berth(be, ['login', server.hostPort, '-u', 'bob', '--password-stdin'], {
        input: 'bob-password-3',
      }),
    );
    const r = assertOk(await run(be, ['user', 'passwd', 'bob', '--password-stdin'], 'bob-password-4'));
    assert.match(r.stdout, /stored login .* updated/);
    assert.ok(await logsIn('bob', 'bob-password-4'));
    assertOk(await run(be, ['project', 'list']));
    // But not someone else's password.
    assertOneLineFailure(
      await run(be, ['user', 'passwd', 'alice', '--password-stdin'], 'taken-over-1'),
      /denied/,
    );
    assertOneLineFailure(
      await run(admin, ['user', 'passwd', 'bob', '--password-stdin'], 'short'),
      /password: /,
    );
  });

  test('a user who is not an admin is refused, in one line', async () => {
    const r = await run(admin, ['user', 'list', '--creds', `alice:${alicePassword}`]);
    assertOneLineFailure(r, /denied: only system admins manage users/);
  });

  test('admin NAME true|false, rm, and the errors of both', async () => {
    assert.match(
      assertOk(await run(admin, ['user', 'admin', 'root2', 'false'])).stdout,
      /no longer a system admin/,
    );
    assertOneLineFailure(await run(admin, ['user', 'admin', 'admin', 'false']), /last system admin/);
    assertOk(await run(admin, ['user', 'rm', 'root2']));
    assertOneLineFailure(await run(admin, ['user', 'rm', 'root2']), /no user named "root2"/);
    assertOneLineFailure(await run(admin, ['user', 'add', 'Bad']), /name: /);
    assertOneLineFailure(await run(admin, ['user', 'add', 'bob']), /exists/);
    const removed = json(await run(admin, ['user', 'rm', 'carol', '--json']));
    assert.deepEqual(removed, { user: 'carol', deleted: true });
  });
});

describe('berth project', () => {
  test('add, list, set, rm', async () => {
    assert.match(
      assertOk(await run(admin, ['project', 'add', 'team'])).stdout,
      /Project team created \(private\)/,
    );
    const open = json<{ public: boolean }>(
      await run(admin, ['project', 'add', 'open', '--public', '--json']),
    );
    assert.equal(open.public, true);
    const list = assertOk(await run(admin, ['project', 'list']));
    assert.match(list.stdout, /^open\s+public\s+-\s+\d{4}-/m);
    assert.match(list.stdout, /^team\s+private/m);
    assert.match(assertOk(await run(admin, ['project', 'set', 'team', '--public'])).stdout, /is public/);
    assert.equal((await server.metadata.access.getProject('team'))?.public, true);
    assertOk(await run(admin, ['project', 'set', 'team', '--private']));
    assert.equal((await server.metadata.access.getProject('team'))?.public, false);
    assertOneLineFailure(await run(admin, ['project', 'set', 'team']), /--public and --private/);
    assertOk(await run(admin, ['project', 'rm', 'open']));
    assertOneLineFailure(await run(admin, ['project', 'rm', 'open']), /no project named "open"/);
    assertOneLineFailure(await run(admin, ['project', 'add', 'team']), /exists/);
  });

  test('members: add, list, rm; a project-admin manages their project', async () => {
    assertOk(await run(admin, ['project', 'member', 'add', 'team', 'user', 'bob', 'project-admin']));
    const asBob = ['--creds', 'bob:bob-password-4'];
    const r = assertOk(
      await run(admin, ['project', 'member', 'add', 'team', 'user', 'alice', 'developer', ...asBob]),
    );
    assert.equal(r.stdout, 'user alice is developer in team\n');
    const list = assertOk(await run(admin, ['project', 'member', 'list', 'team', ...asBob]));
    assert.match(list.stdout, /^KIND\s+NAME\s+ROLE\n/);
    assert.match(list.stdout, /^user\s+alice\s+developer$/m);
    const members = json<{ members: { subject: string; role: string }[] }>(
      await run(admin, ['project', 'member', 'list', 'team', '--json']),
    );
    assert.deepEqual(
      members.members.map((m) => `${m.subject}:${m.role}`),
      ['alice:developer', 'bob:project-admin'],
    );
    assertOk(await run(admin, ['project', 'member', 'rm', 'team', 'user', 'alice', ...asBob]));
    assertOneLineFailure(
      await run(admin, ['project', 'member', 'rm', 'team', 'user', 'alice']),
      /is not a member of "team"/,
    );
    assertOneLineFailure(
      await run(admin, ['project', 'member', 'add', 'team', 'group', 'x', 'guest']),
      /"user" or "robot"/,
    );
    assertOneLineFailure(
      await run(admin, ['project', 'member', 'add', 'team', 'user', 'bob', 'owner']),
      /role: /,
    );
    assertOneLineFailure(
      await run(admin, ['project', 'member', 'add', 'team', 'user', 'nobody', 'guest']),
      /no user/,
    );
  });
});

describe('berth robot', () => {
  let secret: string;

  test('add prints robot$NAME, the secret once and how to log in', async () => {
    const r = assertOk(
      await run(admin, [
        'robot',
        'add',
        'ci',
        '--permission',
        'team/*:pull,push',
        '--expires',
        '30d',
        '--description',
        'team CI',
      ]),
    );
    assert.match(r.stdout, /^Robot account robot\$ci created \(expires \d{4}-/m);
    const m = /^Secret \(shown once, store it now\): (\S+)$/m.exec(r.stdout);
    assert.ok(m, describeRun(r));
    secret = m[1] as string;
    assert.match(
      r.stdout,
      new RegExp(`docker login ${server.hostPort.replace(/\./g, '\\.')} -u 'robot\\$ci' --password-stdin`),
    );
    assert.match(r.stdout, /berth login .* -u 'robot\$ci' --password-stdin/);
    const row = await server.metadata.access.getRobot('robot$ci');
    assert.ok(row && !row.secretHash.includes(secret));
    const expiresIn = (row.expiresAt ?? 0) - Date.now();
    assert.ok(Math.abs(expiresIn - 30 * 86_400_000) < 120_000, `30 days, not ${expiresIn} ms`);
  });

  test('the robot logs in with berth login; the admin API shows it its projects and refuses it admin work', async () => {
    const be = await freshEnv();
    assertOk(
      await berth(be, ['login', server.hostPort, '-u', 'robot$ci', '--password-stdin'], { input: secret }),
    );
    // The robot is no admin: the admin API refuses it, in one line.
    assertOneLineFailure(await run(be, ['robot', 'list']), /denied/);
    const projects = json<{ projects: { name: string }[] }>(await run(be, ['project', 'list', '--json']));
    assert.deepEqual(
      projects.projects.map((p) => p.name),
      ['team'],
    );
  });

  test('--project with --actions, --json, ISO expiry', async () => {
    const created = json<{ name: string; permissions: unknown; expiresAt: string; secret: string }>(
      await run(admin, [
        'robot',
        'add',
        'deployer',
        '--project',
        'team',
        '--actions',
        'pull,push',
        '--expires',
        '2099-01-01T00:00:00Z',
        '--json',
      ]),
    );
    assert.equal(created.name, 'robot$deployer');
    assert.deepEqual(created.permissions, [{ repo: 'team/**', actions: ['pull', 'push'] }]);
    assert.equal(created.expiresAt, '2099-01-01T00:00:00.000Z');
    assert.ok(created.secret.length >= 32);
  });

  test('list shows robots, never their secrets', async () => {
    const r = assertOk(await run(admin, ['robot', 'list']));
    assert.match(r.stdout, /^NAME\s+EXPIRES\s+PERMISSIONS\s+DESCRIPTION\n/);
    assert.match(r.stdout, /^robot\$ci\s+\d{4}-\S+\s+team\/\*:pull,push\s+team CI$/m);
    assert.match(r.stdout, /^robot\$deployer\s+2099-01-01T00:00:00\.000Z\s+team\/\*\*:pull,push$/m);
    assert.ok(!r.stdout.includes(secret));
    const list = json<{ robots: Record<string, unknown>[] }>(await run(admin, ['robot', 'list', '--json']));
    assert.ok(list.robots.every((robot) => !('secret' in robot) && !('secretHash' in robot)));
  });

  test('bad input: one line each', async () => {
    assertOneLineFailure(await run(admin, ['robot', 'add', 'x']), /--permission/);
    assertOneLineFailure(await run(admin, ['robot', 'add', 'x', '--permission', 'team/*']), /GLOB:ACTIONS/);
    assertOneLineFailure(
      await run(admin, ['robot', 'add', 'x', '--permission', 'team/*:write']),
      /pull, push and delete/,
    );
    assertOneLineFailure(
      await run(admin, ['robot', 'add', 'x', '--permission', 'Team/*:pull']),
      /permissions\.0\.repo: /,
    );
    assertOneLineFailure(
      await run(admin, ['robot', 'add', 'x', '--permission', 'a:pull', '--expires', '5x']),
      /--expires/,
    );
    assertOneLineFailure(await run(admin, ['robot', 'add', 'x', '--project', 'nowhere']), /projects\.0: /);
    assertOneLineFailure(await run(admin, ['robot', 'add', 'ci', '--permission', 'a:pull']), /exists/);
  });

  test('rm revokes: the robot cannot log in any more', async () => {
    assert.match(assertOk(await run(admin, ['robot', 'rm', 'ci'])).stdout, /robot\$ci revoked/);
    const be = await freshEnv();
    const r = await berth(be, ['login', server.hostPort, '-u', 'robot$ci', '--password-stdin'], {
      input: secret,
    });
    assertOneLineFailure(r, /login failed|refused/);
    assertOneLineFailure(await run(admin, ['robot', 'rm', 'robot$ci']), /no robot named "robot\$ci"/);
  });
});

describe('berth role', () => {
  test('put with --policy, list, bind, unbind, rm', async () => {
    const r = assertOk(
      await run(admin, ['role', 'put', 'readers', '--policy', 'team/*:pull', '--policy', 'base/**:pull']),
    );
    assert.equal(r.stdout, 'Role readers saved: team/*:pull base/**:pull\n');
    assertOk(await run(admin, ['role', 'bind', 'readers', 'user', 'alice']));
    assertOk(await run(admin, ['role', 'bind', 'readers', 'robot', 'deployer']));
    const list = assertOk(await run(admin, ['role', 'list']));
    assert.match(
      list.stdout,
      /^readers\s+team\/\*:pull base\/\*\*:pull\s+robot:robot\$deployer user:alice$/m,
    );
    assertOk(await run(admin, ['role', 'unbind', 'readers', 'user', 'alice']));
    assertOneLineFailure(await run(admin, ['role', 'unbind', 'readers', 'user', 'alice']), /not bound/);
    assertOneLineFailure(
      await run(admin, ['role', 'bind', 'nothing', 'user', 'alice']),
      /no role named "nothing"/,
    );
    assertOk(await run(admin, ['role', 'rm', 'readers']));
    assertOneLineFailure(await run(admin, ['role', 'rm', 'readers']), /no role named "readers"/);
    assertOneLineFailure(
      await run(admin, ['role', 'put', 'x', '--policy', 'Bad/*:pull']),
      /policies\.0\.repo: /,
    );
    assertOneLineFailure(await run(admin, ['role', 'put', 'x']), /--policy/);
  });

  test('put --file takes the roles file of the docs', async () => {
    const file = join(work, 'roles.yaml');
    await writeFile(
      file,
      [
        'roles:',
        '  - name: developer',
        '    policies:',
        '      - repo: team/*',
        '        actions: ["pull"]',
        '  - name: admin',
        '    policies:',
        '      - repo: "*"',
        '        actions: ["push", "pull", "delete"]',
        '',
      ].join('\n'),
    );
    const r = assertOk(await run(admin, ['role', 'put', '--file', file]));
    assert.equal(r.stdout, 'Role developer saved: team/*:pull\nRole admin saved: *:push,pull,delete\n');
    const roles = json<{ roles: { name: string; policies: unknown }[] }>(
      await run(admin, ['role', 'list', '--json']),
    );
    assert.deepEqual(
      roles.roles.map((x) => x.name),
      ['admin', 'developer'],
    );
    assert.deepEqual(roles.roles[1]?.policies, [{ repo: 'team/*', actions: ['pull'] }]);
    // One role of the file.
    const one = json<{ roles: { name: string }[] }>(
      await run(admin, ['role', 'put', 'developer', '--file', file, '--json']),
    );
    assert.deepEqual(
      one.roles.map((x) => x.name),
      ['developer'],
    );
    const bad = join(work, 'bad-roles.yaml');
    await writeFile(
      bad,
      'roles:\n  - name: one\n    policies: []\n  - name: two\n    policies:\n      - repo: "A/*"\n        actions: [pull]\n',
    );
    assertOneLineFailure(await run(admin, ['role', 'put', '--file', bad]), /role two: .*policies\.0\.repo: /);
    await writeFile(bad, 'rolez: []\n');
    assertOneLineFailure(await run(admin, ['role', 'put', '--file', bad]), /roles: \[\{name, policies/);
  });
});

describe('berth audit', () => {
  test('a table by default, JSON with --json, --actor and --limit', async () => {
    const r = assertOk(await run(admin, ['audit', '--limit', '5']));
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ID\s+TIME\s+ACTOR\s+EVENT\s+SOURCE\s+WHAT$/);
    assert.equal(lines.length, 7, 'header, five events, the paging hint');
    assert.match(lines[6] as string, /^\(older events: --before \d+\)$/);
    const all = json<{ events: { event: string; actor: string }[] }>(
      await run(admin, ['audit', '--limit', '1000', '--json']),
    );
    const names = new Set(all.events.map((e) => e.event));
    for (const name of [
      'user.created',
      'user.deleted',
      'user.password_changed',
      'robot.created',
      'robot.revoked',
      'project.created',
      'project.deleted',
      'member.set',
      'member.removed',
      'role.put',
      'role.deleted',
      'role.bound',
      'role.unbound',
    ]) {
      assert.ok(names.has(name), `missing ${name}`);
    }
    const bobs = json<{ events: { actor: string }[] }>(
      await run(admin, ['audit', '--actor', 'bob', '--json']),
    );
    assert.ok(bobs.events.length > 0 && bobs.events.every((e) => e.actor === 'bob'));
    assertOneLineFailure(await run(admin, ['audit', '--limit', '0']), /--limit/);
    assertOneLineFailure(await run(admin, ['audit', '--creds', 'bob:bob-password-4']), /denied/);
  });
});

describe('help and other servers', () => {
  test('every command has --help with an example', async () => {
    const commands = [
      ['user'],
      ['user', 'add'],
      ['user', 'list'],
      ['user', 'passwd'],
      ['user', 'rm'],
      ['robot', 'add'],
      ['robot', 'list'],
      ['robot', 'rm'],
      ['project', 'add'],
      ['project', 'list'],
      ['project', 'rm'],
      ['project', 'set'],
      ['project', 'member', 'add'],
      ['project', 'member', 'rm'],
      ['project', 'member', 'list'],
      ['role', 'put'],
      ['role', 'list'],
      ['role', 'rm'],
      ['role', 'bind'],
      ['role', 'unbind'],
      ['audit'],
    ];
    const results = await Promise.all(commands.map((c) => berth(admin, [...c, '--help'])));
    for (const r of results) {
      assertOk(r);
      assert.match(r.stdout, /Example/, describeRun(r));
      assert.match(r.stdout, /\$ berth /, describeRun(r));
    }
  });

  test('over HTTPS: --ca-file trusts the CA of --tls self-signed; without it, one line about the certificate', async () => {
    const secure = await startTestServer({
      data: join(work, 'secure'),
      config: { 'auth.mode': 'token', 'tls.selfSigned': true },
      adminPassword: ADMIN_PASSWORD,
    });
    try {
      assert.match(secure.url, /^https:/);
      const creds = ['--creds', `admin:${ADMIN_PASSWORD}`];
      const ok = assertOk(
        await berth(admin, [
          'user',
          'list',
          '--server',
          secure.url,
          '--ca-file',
          secure.caPath as string,
          ...creds,
        ]),
      );
      assert.match(ok.stdout, /^admin\s+yes/m);
      // HOST:PORT is probed over HTTPS first, as berth login does.
      assertOk(
        await berth(admin, [
          'user',
          'list',
          '--server',
          secure.hostPort,
          '--ca-file',
          secure.caPath as string,
          ...creds,
        ]),
      );
      assertOneLineFailure(
        await berth(admin, ['user', 'list', '--server', secure.url, ...creds]),
        /certificate/i,
      );
      assertOk(await berth(admin, ['user', 'list', '--server', secure.url, '--tls-verify=false', ...creds]));
    } finally {
      await secure.close();
    }
  });

  test('a Berth without auth has no admin API: one line says so', async () => {
    const open = await startTestServer({ data: join(work, 'open') });
    try {
      const r = await berth(admin, ['user', 'list', '--server', open.url, '--creds', 'a:b']);
      assertOneLineFailure(r, /no admin API/);
    } finally {
      await open.close();
    }
  });
});

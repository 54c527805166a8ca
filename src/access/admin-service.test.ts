// The admin use cases against a real SQLite store and a real access service: the rules that are easy to get
// subtly wrong (who sees a private project, a project admin against a member, the time of a robot's expiry).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../clock/clock.js';
import type { KyselyMetadataStore } from '../metadata/kysely-store.js';
import { openSqliteMetadata } from '../metadata/sqlite.js';
import { BerthError } from '../oci/errors.js';
import { AccessService } from './access-service.js';
import type { AdminCall, Caller } from './admin-service.js';
import { AdminService } from './admin-service.js';
import { hashSecret } from './password-hash.js';

const failsWith = (code: string) => (error: unknown) => {
  assert.ok(error instanceof BerthError, `expected a BerthError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return true;
};

const user = (name: string, admin = false): Caller => ({ kind: 'user', name, admin });
const callAs = (caller: Caller): AdminCall => ({
  caller,
  source: '192.0.2.7',
  method: 'TEST',
  route: '/test',
});

describe('admin service', () => {
  let dir: string;
  let store: KyselyMetadataStore;
  let admin: AdminService;
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const root = callAs(user('root', true));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-admin-service-'));
    store = openSqliteMetadata(join(dir, 'metadata.sqlite'));
    await store.migrate();
    const access = await AccessService.open(
      store.access,
      {
        token: {
          issuer: 'berth',
          service: 'berth-registry',
          apiService: 'berth-api',
          expiresIn: 300,
          apiExpiresIn: 900,
        },
        loginAttempts: 10,
        loginWindow: 300,
        loginChecks: { concurrency: 2, queue: 16 },
      },
      pino({ level: 'silent' }),
      clock,
    );
    admin = new AdminService(access);
    // Accounts nobody logs in as share one stored hash: hashing is slow on purpose.
    const hash = 'scrypt$unused';
    for (const name of ['root', 'dev', 'padmin', 'outsider', 'reader', 'wide']) {
      await store.access.createUser({ name, passwordHash: hash, admin: name === 'root', createdAt: 0 });
    }
    await store.access.createRobot({
      name: 'robot$ci',
      secretHash: hash,
      permissions: [],
      description: '',
      expiresAt: null,
      createdBy: 'root',
      createdAt: 0,
    });
    for (const [name, isPublic] of [
      ['team', false],
      ['teamx', false],
      ['open', true],
    ] as const) {
      await store.access.createProject({ name, public: isPublic, createdAt: 0 });
    }
    await store.access.setMember({ project: 'team', subjectKind: 'user', subject: 'dev', role: 'developer' });
    await store.access.setMember({
      project: 'team',
      subjectKind: 'user',
      subject: 'padmin',
      role: 'project-admin',
    });
    await store.access.setMember({
      project: 'team',
      subjectKind: 'robot',
      subject: 'robot$ci',
      role: 'project-admin',
    });
    await store.access.putRole('team-readers', [{ repo: 'team/*', actions: ['pull'] }], 0);
    await store.access.bindRole('team-readers', 'user', 'reader');
    await store.access.putRole('everything', [{ repo: '**', actions: ['pull'] }], 0);
    await store.access.bindRole('everything', 'user', 'wide');
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const listed = async (caller: Caller) =>
    (await admin.projects.list(callAs(caller))).map(({ project, role }) => `${project.name}:${role ?? '-'}`);

  test('a private project is listed only for who may see it, with their role', async () => {
    assert.deepEqual(await listed(user('outsider')), ['open:-'], 'public only');
    assert.deepEqual(await listed(user('dev')), ['open:-', 'team:developer'], 'a member, with the role');
    assert.deepEqual(await listed(user('reader')), ['open:-', 'team:-'], 'a role reaching team/*, not teamx');
    assert.deepEqual(await listed(user('wide')), ['open:-', 'team:-', 'teamx:-'], '** reaches every project');
    assert.deepEqual(
      await listed({
        kind: 'robot',
        name: 'robot$other',
        permissions: [{ repo: 'teamx/**', actions: ['pull'] }],
      }),
      ['open:-', 'teamx:-'],
      "a robot's own permissions reach",
    );
    assert.deepEqual(await listed(user('root', true)), ['open:-', 'team:-', 'teamx:-'], 'admins see all');
  });

  test('a private project the caller may not see is NOT_FOUND, as one that does not exist', async () => {
    await assert.rejects(admin.projects.get(callAs(user('outsider')), 'team'), failsWith('NOT_FOUND'));
    await assert.rejects(admin.projects.get(callAs(user('outsider')), 'nothing'), failsWith('NOT_FOUND'));
    await assert.rejects(
      admin.projects.update(callAs(user('outsider')), 'team', () => ({ public: true })),
      failsWith('NOT_FOUND'),
      'not DENIED: that would tell the project exists',
    );
    assert.equal((await admin.projects.get(callAs(user('reader')), 'team')).role, undefined);
  });

  test("seeing a project is not being its member: a role's reach does not show the members", async () => {
    await assert.rejects(admin.projects.members(callAs(user('reader')), 'team'), failsWith('DENIED'));
    const members = await admin.projects.members(callAs(user('dev')), 'team');
    assert.deepEqual(
      members.map((m) => `${m.subjectKind}:${m.subject}:${m.role}`),
      ['robot:robot$ci:project-admin', 'user:dev:developer', 'user:padmin:project-admin'],
    );
  });

  test('a project-admin user manages the project; a developer, a robot project-admin and a reader do not', async () => {
    for (const caller of [
      user('dev'),
      user('reader'),
      { kind: 'robot', name: 'robot$ci', permissions: [] } satisfies Caller,
    ]) {
      let read = false;
      await assert.rejects(
        admin.projects.update(callAs(caller), 'team', () => {
          read = true;
          return { public: true };
        }),
        failsWith('DENIED'),
        `${caller.name} may not change the project`,
      );
      assert.equal(read, false, 'a refused call never reads its input');
    }
    const updated = await admin.projects.update(callAs(user('padmin')), 'team', () => ({ public: false }));
    assert.equal(updated.role, 'project-admin');
    const member = await admin.projects.setMember(callAs(user('padmin')), 'team', () => ({
      kind: 'user',
      subject: 'outsider',
      role: 'guest',
    }));
    assert.equal(member.role, 'guest');
    assert.deepEqual(
      await listed(user('outsider')),
      ['open:-', 'team:guest'],
      'the new member sees it at once',
    );
    await admin.projects.removeMember(callAs(user('padmin')), 'team', () => ({
      kind: 'user',
      subject: 'outsider',
    }));
    await assert.rejects(
      admin.projects.delete(callAs(user('padmin')), () => ({ name: 'team' })),
      failsWith('DENIED'),
      'only system admins delete projects',
    );
  });

  test('a refusal leaves an access.denied event naming the route', async () => {
    await assert.rejects(admin.users.list(callAs(user('dev'))), failsWith('DENIED'));
    const [event] = await store.access.listAudit({ limit: 1 });
    assert.equal(event?.event, 'access.denied');
    assert.equal(event?.actor, 'dev');
    assert.equal(event?.source, '192.0.2.7');
    assert.deepEqual(event?.detail, { method: 'TEST', route: '/test' });
  });

  test("times come from the service's clock: creation, and a robot's expiry", async () => {
    const made = await admin.users.create(root, () => ({ name: 'newbie', password: 'newbie-password' }));
    assert.equal(made.user.createdAt, clock.now());
    assert.equal(made.generatedPassword, undefined, 'a given password is not echoed');

    const { robot, secret } = await admin.robots.create(root, () => ({
      name: 'robot$short',
      expires: { in: 60 },
      projects: ['team'],
      actions: ['pull'],
    }));
    assert.ok(secret.length > 0);
    assert.equal(robot.expiresAt, clock.now() + 60_000);
    assert.deepEqual(robot.permissions, [{ repo: 'team/**', actions: ['pull'] }]);
    assert.equal(robot.expired, false);
    clock.advance(60_000);
    assert.equal((await admin.robots.get(root, () => ({ name: 'robot$short' }))).expired, true);
    await assert.rejects(
      admin.robots.create(root, () => ({
        name: 'robot$late',
        expires: { at: clock.now() },
        permissions: [{ repo: 'team/*', actions: ['pull'] }],
      })),
      failsWith('INVALID'),
      'a moment that is now is already past',
    );
    await assert.rejects(
      admin.robots.create(root, () => ({ name: 'robot$lost', projects: ['nothing'], actions: ['pull'] })),
      failsWith('INVALID'),
    );
  });

  test('the last system admin can be neither demoted nor deleted', async () => {
    await assert.rejects(
      admin.users.setAdmin(root, () => ({ name: 'root', admin: false })),
      failsWith('CONFLICT'),
    );
    await assert.rejects(
      admin.users.delete(root, () => ({ name: 'root' })),
      failsWith('CONFLICT'),
    );
    await admin.users.setAdmin(root, () => ({ name: 'dev', admin: true }));
    await admin.users.setAdmin(root, () => ({ name: 'dev', admin: false }));
  });

  test('changing your own password takes the current one; an admin resetting another does not', async () => {
    await store.access.createUser({
      name: 'self',
      passwordHash: await hashSecret('old-password'),
      admin: false,
      createdAt: 0,
    });
    const self = callAs(user('self'));
    await assert.rejects(
      admin.users.changePassword(self, 'self', () => ({ password: 'new-password' })),
      failsWith('INVALID'),
    );
    await assert.rejects(
      admin.users.changePassword(self, 'self', () => ({
        password: 'new-password',
        currentPassword: 'wrong',
      })),
      failsWith('DENIED'),
    );
    await assert.rejects(
      admin.users.changePassword(self, 'dev', () => ({ password: 'new-password' })),
      failsWith('DENIED'),
    );
    await admin.users.changePassword(self, 'self', () => ({
      password: 'new-password',
      currentPassword: 'old-password',
    }));
    await admin.users.changePassword(root, 'self', () => ({ password: 'reset-password' }));
  });
});

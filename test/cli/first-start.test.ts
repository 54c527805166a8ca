import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureFirstAdmin } from '../../src/access/admin-account.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/main/logger.js';
import { type Announcement, startServer } from '../../src/main/server.js';
import { openSqliteMetadata } from '../../src/metadata/sqlite.js';
import { spawnBerth } from '../support/berth-process.js';
import { tempDir } from '../support/temp.js';
import { requireTools } from '../support/tool-gate.js';

// script(1) gives the server a real terminal; timeout bounds it.
const terminalTools = await requireTools('script', 'timeout');
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs the real CLI to its end; stdin is the given text. */
function berth(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, BERTH_LOG_LEVEL: 'warn', ...options.env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

async function status(url: string, user: string, password: string): Promise<number> {
  const res = await fetch(new URL('/v2/', url), {
    headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status;
}

const GENERATED = /created user "admin" with password (\S+)/;

describe('first start', () => {
  test('with the port taken (EADDRINUSE) no admin is made; the next start prints a password that works', async (t) => {
    const data = await tempDir(t);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as { port: number }).port;

    // berth serve --listen 127.0.0.1:PORT with PORT in use: it used to log "first start: admin user
    // created", fail, and never print the password; every later start then printed nothing.
    const refused = await berth([
      'serve',
      '--auth',
      'token',
      '--listen',
      `127.0.0.1:${port}`,
      '--data',
      data,
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^berth: .*EADDRINUSE.*\n$/m);
    assert.doesNotMatch(refused.stdout + refused.stderr, /password/);

    const server = await spawnBerth(['--auth', 'token', '--listen', '127.0.0.1:0', '--data', data]);
    t.after(() => server.stop('SIGKILL'));
    const password = GENERATED.exec(server.output())?.[1];
    assert.ok(password, server.output());
    assert.equal(await status(server.url, 'admin', password), 200);
    // The password comes after the ready line, once the server is up.
    assert.ok(server.output().indexOf('ready at') < server.output().indexOf('created user'));
  });

  test('a generated password stored but never printed (a crash in between) is replaced by the next start', async (t) => {
    const data = await tempDir(t);
    // The state a crash between storing and printing leaves behind.
    const store = openSqliteMetadata(join(data, 'metadata.sqlite'));
    await store.migrate();
    const unshown = await ensureFirstAdmin(store.access, undefined, Date.now());
    await store.close();
    assert.equal(unshown.kind, 'generated');
    const lost = unshown.kind === 'generated' ? unshown.password : '';

    const shown: Announcement[] = [];
    const config = loadConfig({
      env: {},
      overrides: { listen: '127.0.0.1:0', data, 'auth.mode': 'token' },
    });
    const server = await startServer(config, {
      log: createLogger('silent'),
      announce: (announcement) => {
        shown.push(announcement);
      },
    });
    t.after(() => server.close());
    const password = shown[0]?.adminPassword;
    assert.ok(password, 'a new password was announced');
    assert.notEqual(password, lost);
    assert.equal(await status(server.url, 'admin', password), 200);
    assert.equal(await status(server.url, 'admin', lost), 401, 'the never-shown password opens nothing');
  });

  test('BERTH_ADMIN_PASSWORD applies while no usable admin exists, and is ignored once one does', async (t) => {
    const data = await tempDir(t);
    const store = openSqliteMetadata(join(data, 'metadata.sqlite'));
    await store.migrate();
    await ensureFirstAdmin(store.access, undefined, Date.now());
    await store.close();

    let server = await spawnBerth(['--auth', 'token', '--listen', '127.0.0.1:0', '--data', data], {
      BERTH_ADMIN_PASSWORD: 'chosen-password-1',
    });
    t.after(() => server.stop('SIGKILL'));
    assert.doesNotMatch(server.output(), GENERATED);
    assert.equal(await status(server.url, 'admin', 'chosen-password-1'), 200);
    await server.stop('SIGTERM');

    server = await spawnBerth(['--auth', 'token', '--listen', '127.0.0.1:0', '--data', data], {
      BERTH_ADMIN_PASSWORD: 'other-password-1',
    });
    assert.equal(await status(server.url, 'admin', 'other-password-1'), 401);
    assert.equal(await status(server.url, 'admin', 'chosen-password-1'), 200);
  });
});

describe('berth admin reset-password', () => {
  test('against the data folder of a running server: generated, from stdin, unknown user, wrong folder', async (t) => {
    const data = await tempDir(t);
    const server = await spawnBerth(['--auth', 'token', '--listen', '127.0.0.1:0', '--data', data], {
      BERTH_ADMIN_PASSWORD: 'admin-password-1',
    });
    t.after(() => server.stop('SIGKILL'));
    assert.equal(await status(server.url, 'admin', 'admin-password-1'), 200);

    // berth admin reset-password --data DIR   (the server keeps running)
    const generated = await berth(['admin', 'reset-password', '--data', data]);
    assert.equal(generated.code, 0, generated.stderr);
    const password = /new password for user "admin": (\S+)/.exec(generated.stdout)?.[1];
    assert.ok(password, generated.stdout);
    assert.equal(await status(server.url, 'admin', password), 200, 'the running server takes it at once');

    // printf 'chosen-password-2\n' | berth admin reset-password admin --data DIR --password-stdin
    const chosen = await berth(['admin', 'reset-password', 'admin', '--data', data, '--password-stdin'], {
      input: 'chosen-password-2\n',
    });
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.doesNotMatch(chosen.stdout, /chosen-password-2/);
    assert.equal(await status(server.url, 'admin', 'chosen-password-2'), 200);

    const short = await berth(['admin', 'reset-password', '--data', data, '--password-stdin'], {
      input: 'short\n',
    });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /^berth: the new password must have 8 to 1024 characters\n$/);

    const unknown = await berth(['admin', 'reset-password', 'nobody', '--data', data]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^berth: no user named nobody in this database\n$/);

    const elsewhere = join(data, 'not-here');
    const wrong = await berth(['admin', 'reset-password', '--data', elsewhere]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^berth: no Berth database at .*not-here.*--data.*--config.*\n$/);
    assert.equal(existsSync(join(elsewhere, 'metadata.sqlite')), false, 'no empty database was made');
  });
});

// CI sets BERTH_TEST_POSTGRES_URL to a throwaway cluster.
const postgresUrl = process.env.BERTH_TEST_POSTGRES_URL;

describe('berth admin reset-password on PostgreSQL', () => {
  test('against the PostgreSQL of the config, while the server runs', {
    skip: postgresUrl ? false : 'BERTH_TEST_POSTGRES_URL is not set',
  }, async (t) => {
    const url = postgresUrl as string;
    const name = `berth_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    // The server's pool first: dropping the database ends its connections.
    t.after(async () => {
      await server?.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const data = await tempDir(t);
    const configFile = join(data, 'berth.yaml');
    await writeFile(configFile, `data: ${data}\nmetadata:\n  postgres:\n    url: ${dbUrl.href}\n`);

    // A database Berth never set up is not taken for the server's.
    const empty = await berth(['admin', 'reset-password', '--config', configFile]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^berth: no Berth database at the PostgreSQL database of the config/);

    const config = loadConfig({
      env: {},
      file: configFile,
      overrides: { listen: '127.0.0.1:0', 'auth.mode': 'token' },
    });
    server = await startServer(config, {
      log: createLogger('silent'),
      adminPassword: 'admin-password-1',
    });
    const reset = await berth(['admin', 'reset-password', '--config', configFile]);
    assert.equal(reset.code, 0, reset.stderr);
    const password = /new password for user "admin": (\S+)/.exec(reset.stdout)?.[1];
    assert.ok(password, reset.stdout);
    assert.equal(await status(server.url, 'admin', password), 200);
  });
});

describe('logs', () => {
  test('--log-format text prints readable lines and says where the data is; JSON keeps stdout to itself', async (t) => {
    const data = await tempDir(t);
    const text = await spawnBerth(['--listen', '127.0.0.1:0', '--data', data, '--log-format', 'text'], {
      BERTH_LOG_LEVEL: 'info',
    });
    await text.stop('SIGTERM');
    const out = text.output();
    assert.doesNotMatch(out, /^\{/m, 'no JSON line');
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}registry listening {2}url=http:\/\/127\.0\.0\.1:\d+ /m);
    assert.ok(out.includes(`data in ${data} (blobs, metadata.sqlite)\n`), out);

    // Not a terminal and no format asked: JSON lines on stdout, the human lines on stderr.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'serve', '--auth', 'none', '--listen', '127.0.0.1:0', '--data', data],
      { env: { ...process.env, BERTH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('data in')) resolve();
      });
    });
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const lines = stdout.split('\n').filter((line) => line !== '');
    assert.ok(lines.length > 0);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.match(stderr, /^berth registry ready at http:\/\/127\.0\.0\.1:\d+\ndata in /);
  });

  test('on a terminal (a real pty from script(1)) logs are readable lines, no JSON, the password after the ready line', {
    skip: terminalTools.skip,
  }, async (t) => {
    terminalTools.assertAvailable();
    const data = await tempDir(t);
    const command = [
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'serve',
      '--auth',
      'token',
      '--listen',
      '127.0.0.1:0',
      '--data',
      data,
    ]
      .map((word) => `'${word}'`)
      .join(' ');
    const child = spawn('/usr/bin/script', ['-qfec', `timeout 120 ${command}`, '/dev/null'], {
      env: { ...process.env, BERTH_LOG_LEVEL: 'info', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('admin password generated and shown')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early:\n${out}`)));
    });
    child.kill('SIGTERM');
    assert.doesNotMatch(out, /\{"level"/);
    assert.match(out, /INFO {2}registry listening {2}url=http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(
      out.indexOf('berth registry ready at') < out.indexOf('created user "admin" with password'),
      out,
    );
  });
});

// Shared pieces of the access tests (test/access/): accounts, projects and roles written straight into the
// access store (not through /api/v1 or the CLI, which have their own tests), tokens fetched the way Docker
// clients fetch them, JWT and challenge parsing, and snapshots of what a registry holds on disk.
import assert from 'node:assert/strict';
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashSecret } from '../../src/access/password-hash.js';
import type { Policy, ProjectRole } from '../../src/access/principal.js';
import type { RunningServer } from '../../src/main/server.js';
import type { AuditRecord } from '../../src/metadata/access-store.js';
import { MANIFEST_ACCEPT } from './containers.js';
import { TestClient } from './oci-client.js';

export { MANIFEST_ACCEPT };

/** A user or robot and the secret it logs in with. */
export interface Account {
  name: string;
  password: string;
}

export const SERVICE = 'berth-registry';

function subjectKind(name: string): 'user' | 'robot' {
  return name.startsWith('robot$') ? 'robot' : 'user';
}

export async function addUser(server: RunningServer, name: string, password: string, admin = false) {
  const created = await server.metadata.access.createUser({
    name,
    passwordHash: await hashSecret(password),
    admin,
    createdAt: Date.now(),
  });
  assert.ok(created, `user ${name} could not be created`);
  server.access?.invalidate();
  return { name, password } satisfies Account;
}

export async function addRobot(
  server: RunningServer,
  name: string,
  permissions: Policy[],
  options: { secret?: string; expiresAt?: number | null } = {},
): Promise<Account> {
  const secret = options.secret ?? `secret-of-${name}`;
  const created = await server.metadata.access.createRobot({
    name,
    secretHash: await hashSecret(secret),
    permissions,
    description: 'test robot',
    expiresAt: options.expiresAt ?? null,
    createdBy: 'admin',
    createdAt: Date.now(),
  });
  assert.ok(created, `robot ${name} could not be created`);
  server.access?.invalidate();
  return { name, password: secret };
}

export async function addProject(server: RunningServer, name: string, isPublic: boolean): Promise<void> {
  assert.ok(
    await server.metadata.access.createProject({ name, public: isPublic, createdAt: Date.now() }),
    `project ${name} could not be created`,
  );
  server.access?.invalidate();
}

export async function addMember(
  server: RunningServer,
  project: string,
  account: Account,
  role: ProjectRole,
): Promise<void> {
  await server.metadata.access.setMember({
    project,
    subjectKind: subjectKind(account.name),
    subject: account.name,
    role,
  });
  server.access?.invalidate();
}

/** A policy role (`{repo: glob, actions}`) bound to the given accounts. */
export async function addPolicyRole(
  server: RunningServer,
  role: string,
  policies: Policy[],
  bound: Account[],
): Promise<void> {
  await server.metadata.access.putRole(role, policies, Date.now());
  for (const account of bound)
    await server.metadata.access.bindRole(role, subjectKind(account.name), account.name);
  server.access?.invalidate();
}

/** The `admin` user Berth made on its first start (its generated password is returned once). */
export function bootstrapAdmin(server: RunningServer): Account {
  assert.ok(server.adminPassword, 'the first start returns the generated admin password');
  return { name: 'admin', password: server.adminPassword };
}

export function basic(account: Account): string {
  return `Basic ${Buffer.from(`${account.name}:${account.password}`).toString('base64')}`;
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** `GET /token?service=…&scope=…` as Docker clients send it: Basic credentials, or none for anonymous. */
export async function requestToken(
  baseUrl: string,
  account: Account | undefined,
  scopes: string[],
  options: { service?: string; fetch?: FetchLike } = {},
): Promise<TokenReply> {
  const query = new URLSearchParams({ service: options.service ?? SERVICE });
  for (const scope of scopes) query.append('scope', scope);
  const res = await (options.fetch ?? fetch)(`${baseUrl}/token?${query}`, {
    headers: account ? { authorization: basic(account) } : {},
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert.fail(`GET /token answered ${res.status} with something that is not JSON: ${text}`);
  }
  return { status: res.status, body, headers: res.headers };
}

/** A token for the scopes, asserted to be issued. */
export async function getToken(
  baseUrl: string,
  account: Account | undefined,
  scopes: string[],
  options: { fetch?: FetchLike } = {},
): Promise<string> {
  const reply = await requestToken(baseUrl, account, scopes, options);
  assert.equal(
    reply.status,
    200,
    `token for ${account?.name ?? 'anonymous'} ${scopes.join(' ')}: ${JSON.stringify(reply.body)}`,
  );
  assert.equal(typeof reply.body.token, 'string');
  return reply.body.token as string;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown> & { access?: { type: string; name: string; actions: string[] }[] };
  parts: [string, string, string];
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `a JWS in compact form: ${token}`);
  const [h, p, s] = parts as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as DecodedJwt['payload'],
    parts: [h, p, s],
  };
}

export function encodeJwtPart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The actions a token's `access` claim grants on a repository, sorted. */
export function accessOf(token: string, type: string, name: string): string[] | undefined {
  const entry = decodeJwt(token).payload.access?.find((a) => a.type === type && a.name === name);
  return entry ? [...entry.actions].sort() : undefined;
}

/** `Bearer realm="…",service="…",scope="…"` as a map (with `scheme`). */
export function parseChallenge(header: string | null): Record<string, string> {
  assert.ok(header, 'a WWW-Authenticate header');
  const space = header.indexOf(' ');
  const out: Record<string, string> = { scheme: header.slice(0, space) };
  for (const m of header.slice(space + 1).matchAll(/([a-z_]+)="([^"]*)"/g))
    out[m[1] as string] = m[2] as string;
  return out;
}

/** The OCI error code of a response body (undefined when it has none). */
export async function errorCodeOf(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** A TestClient that sends one fixed Authorization header (Basic: Berth accepts it on /v2/ directly). */
export class AuthorizedClient extends TestClient {
  constructor(
    base: string,
    private readonly authorization: string,
  ) {
    super(base);
  }

  override request(
    method: string,
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers = {
      authorization: this.authorization,
      ...(init.headers as Record<string, string> | undefined),
    };
    return super.request(method, path, { ...init, headers });
  }
}

/** Audit rows, oldest first, optionally only those of one actor. */
export async function auditRows(server: RunningServer, actor?: string): Promise<AuditRecord[]> {
  const rows = await server.metadata.access.listAudit({ limit: 10_000, actor });
  return rows.reverse();
}

/** Every file under `dir` with its size, as `path → size` (relative paths, sorted). */
export async function folderSnapshot(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const walk = async (d: string, prefix: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(d, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[`${rel}/`] = 0;
        await walk(full, rel);
      } else out[rel] = (await stat(full).catch(() => ({ size: -1 }))).size;
    }
  };
  await walk(dir, '');
  return out;
}

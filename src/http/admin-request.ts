import type { FastifyRequest } from 'fastify';
import { type ZodType, z } from 'zod';
import { type AccessService, AuthenticationError } from '../access/access-service.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../access/admin-account.js';
import type { AdminCall, Caller } from '../access/admin-service.js';
import { type Principal, ROBOT_PREFIX, type SubjectKind } from '../access/principal.js';
import { isRepoName } from '../oci/names.js';
import { AdminError } from './admin-error.js';

/** Who made an admin request, from where and by which route: found once per request by the authentication hook. */
export type CallOf = (request: FastifyRequest) => AdminCall;

// Admin bodies are a few names and globs; a large one is a mistake or an attack.
const BODY_LIMIT = 256 * 1024;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_RULE = 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64';

/** User names; `robot$…` is refused with its own reason, since those name robot accounts. */
export const userNameSchema = z
  .string()
  .refine(
    (name) => !name.startsWith(ROBOT_PREFIX),
    `names starting with "${ROBOT_PREFIX}" are robot accounts`,
  )
  .refine((name) => NAME_PATTERN.test(name), NAME_RULE);

/** A robot's own part of its name; `robot$` in front is accepted and dropped. */
export const robotNameSchema = z
  .string()
  .transform((name) => (name.startsWith(ROBOT_PREFIX) ? name.slice(ROBOT_PREFIX.length) : name))
  .refine((name) => NAME_PATTERN.test(name), NAME_RULE);

/** A project is the first segment of repository names, so it follows the repository name grammar. */
export const projectNameSchema = z
  .string()
  .refine(
    (name) => name.length <= 64 && !name.includes('/') && isRepoName(name),
    'one repository path segment: lower-case letters and digits, joined by ".", "_", "__" or "-", at most 64',
  );

export const roleNameSchema = z.string().regex(NAME_PATTERN, NAME_RULE);

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `at most ${PASSWORD_MAX_LENGTH} characters`);

export const subjectKindSchema = z.enum(['user', 'robot']);

/** `field: why` for the first problem zod found, the message clients show. */
function describeIssue(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  if (!issue) return `${where}: invalid`;
  const path = issue.path.map(String).join('.');
  return `${path || where}: ${issue.message}`;
}

/** Parses request input with a schema; failures are 400 INVALID naming the field. */
export function parseInput<T>(schema: ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new AdminError('INVALID', describeIssue(result.error, where));
  return result.data;
}

/** Path parameters by name, URL-decoded by the router (robot names arrive as `robot$ci` or `robot%24ci`). */
export function pathParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  return value ?? '';
}

/** Reads and parses the JSON body; an empty body is `{}`, so that optional fields may all be left out. */
export async function readJson<T>(request: FastifyRequest, schema: ZodType<T>): Promise<T> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new AdminError('INVALID', `body: larger than ${BODY_LIMIT} bytes`);
    parts.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(parts, size);
  const type = request.headers['content-type'];
  if (bytes.length > 0 && type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new AdminError('INVALID', `body: expected application/json, got ${type}`);
  }
  let value: unknown = {};
  if (bytes.length > 0) {
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new AdminError('INVALID', 'body: not valid JSON');
    }
  }
  return parseInput(schema, value, 'body');
}

/** The robot's full name from its own part. */
export function robotName(own: string): string {
  return `${ROBOT_PREFIX}${own}`;
}

/** A member or binding subject from the path: user names as they are, robots with or without `robot$`. */
export function parseSubject(kindRaw: string, subjectRaw: string): { kind: SubjectKind; subject: string } {
  const kind = parseInput(subjectKindSchema, kindRaw, 'kind');
  if (kind === 'user') return { kind, subject: parseInput(userNameSchema, subjectRaw, 'subject') };
  return { kind, subject: robotName(parseInput(robotNameSchema, subjectRaw, 'subject')) };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Who is calling: Basic credentials (the same login as the registry) or a Bearer token issued for the admin
 * API (`/token?service=<auth.token.apiService>`). A registry token, whatever its scope, is 401 here: it was
 * issued to be handed to `/v2/`, to tools and proxies that must not get the account with it. Nobody, or
 * credentials that fail, is 401 with a Basic challenge (what a browser or curl can answer); a guesser is 429.
 */
export async function authenticateCaller(access: AccessService, request: FastifyRequest): Promise<Caller> {
  let principal: Principal;
  try {
    principal = (await access.authenticate(request.headers.authorization, request.ip, 'api')).principal;
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    if (error.reason === 'rate_limited') throw new AdminError('TOOMANYREQUESTS', error.message);
    throw new AdminError('UNAUTHORIZED', error.message);
  }
  if (principal.kind === 'anonymous') {
    throw new AdminError('UNAUTHORIZED', 'authentication required: Basic credentials or a Bearer token');
  }
  return principal;
}

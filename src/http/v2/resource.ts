import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import type { RepoName } from '../../oci/names.js';
import type { V2Route } from '../../oci/v2-path.js';
import type { DeleteOptions, PullAccess, Registry } from '../../registry/registry.js';
import type { AuthGate } from '../auth-gate.js';

/** The methods a `/v2/` route is registered for; anything else is answered before a resource is asked. */
export const V2_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type V2Method = (typeof V2_METHODS)[number];

/** What a server was started with, which decides which methods exist at all. */
export interface V2Features {
  /** DELETE of manifests, tags and blobs (`registry.deletes`). */
  deletes: boolean;
  /** No writes of any kind: pulls only. */
  readOnly: boolean;
  /** Announced as OCI-Chunk-Min-Length on new upload sessions; 0 announces nothing. */
  chunkMinLength: number;
}

/** What every resource module is built from. */
export interface V2Context {
  registry: Registry;
  gate: AuthGate;
  features: V2Features;
}

/** One request to a resource: its route, the repository name parsed (where the route has one), the query. */
export interface V2Call<R extends V2Route = V2Route> {
  request: FastifyRequest;
  reply: FastifyReply;
  route: R;
  name: R extends { name: string } ? RepoName : undefined;
  query: URLSearchParams;
}

export type V2Handler<R extends V2Route> = (call: V2Call<R>) => Promise<FastifyReply>;

/** A read, a write, or a delete: what read-only mode and `deletes: false` switch off. */
export type MethodKind = 'read' | 'write' | 'delete';

/** A resource's methods as it declares them: each with its kind. */
export type MethodDeclarations<R extends V2Route> = Partial<
  Record<V2Method, { kind: MethodKind; handle: V2Handler<R> }>
>;

/** A resource's registered methods, and the ones this server has switched off, with why. */
export interface MethodTable<R extends V2Route> {
  handlers: Partial<Record<V2Method, V2Handler<R>>>;
  off: Partial<Record<V2Method, string>>;
}

/** Registers the declared methods this server has; the others are left out, their reason noted. */
export function methodTable<R extends V2Route>(
  features: V2Features,
  declared: MethodDeclarations<R>,
): MethodTable<R> {
  const table: MethodTable<R> = { handlers: {}, off: {} };
  for (const method of V2_METHODS) {
    const entry = declared[method];
    if (!entry) continue;
    const why =
      entry.kind !== 'read' && features.readOnly
        ? 'this registry is read-only'
        : entry.kind === 'delete' && !features.deletes
          ? 'deletes are disabled on this registry'
          : undefined;
    if (why === undefined) table.handlers[method] = entry.handle;
    else table.off[method] = why;
  }
  return table;
}

/** The answer for a method a route does not have: UNSUPPORTED with the reason when it is switched off. */
export function methodRefusal(
  table: Pick<MethodTable<V2Route>, 'off'>,
  method: string,
  path: string,
): RegistryError {
  const why = table.off[method as V2Method];
  return why === undefined
    ? new RegistryError('METHOD_UNKNOWN', { method, path })
    : new RegistryError('UNSUPPORTED', { reason: why });
}

/** An AbortSignal that fires when the client goes away mid-request. */
export function clientGone(request: FastifyRequest): AbortSignal {
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}

/**
 * The pull check a use case reading across repositories needs, for this caller. `token` follows what the
 * caller's token grants (mount sources); `account` what its account may pull, whatever the token names (a
 * catalog token names no repository).
 */
export function pullAccess(gate: AuthGate, request: FastifyRequest, by: 'token' | 'account'): PullAccess {
  if (!gate.enabled) return 'any';
  return by === 'token'
    ? (repo) => gate.may(request, repo, 'pull')
    : (repo) => gate.accountMayPull(request, repo);
}

/**
 * `DELETE …/blobs/<digest>?force=true` and `DELETE …/manifests/<digest>?force=true` delete what a tag still
 * needs; the registry lets only a system administrator do that. Who that is: an admin user by Basic auth or by
 * a token with delete on the repository; with `auth: none`, whoever reaches the port is the operator.
 */
export async function deleteOptions(gate: AuthGate, call: V2Call): Promise<DeleteOptions> {
  const actor = await gate.owner(call.request);
  if (call.query.get('force') !== 'true') return { actor };
  if (!gate.enabled) return { force: true, systemAdmin: true, actor };
  const auth = await gate.authentication(call.request);
  return { force: true, systemAdmin: auth?.principal.kind === 'user' && auth.principal.admin, actor };
}

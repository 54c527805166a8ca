import type { FastifyRequest } from 'fastify';
import { type AccessService, type Authentication, AuthenticationError } from '../access/access-service.js';
import { type Action, principalName } from '../access/principal.js';
import { RegistryError } from '../oci/errors.js';

/**
 * Every Distribution API request passes here before anything is read or written: who is asking (Basic or a
 * bearer token), and may they do this action on this repository. Refusals are the OCI errors clients expect:
 * 401 with a Bearer challenge naming the scope (so Docker clients fetch a token), 403 when the account is
 * known and simply not allowed, 429 when logins are being guessed.
 */
export interface AuthGate {
  readonly enabled: boolean;
  authentication(request: FastifyRequest): Promise<Authentication | undefined>;
  /** Throws the right error unless the action is allowed. */
  require(request: FastifyRequest, repository: string, action: Action): Promise<void>;
  /** Whether the action is allowed, without an error (mount sources: a token must cover the source). */
  may(request: FastifyRequest, repository: string, action: Action): Promise<boolean>;
  /** Whether the caller's account may pull, whatever repositories its token names (catalog filtering). */
  accountMayPull(request: FastifyRequest, repository: string): Promise<boolean>;
  /** `GET /v2/`: any authenticated caller. */
  requireLogin(request: FastifyRequest): Promise<void>;
  /** Who to name as an upload's owner. */
  owner(request: FastifyRequest): Promise<string | undefined>;
}

export const OPEN_GATE: AuthGate = {
  enabled: false,
  authentication: async () => undefined,
  require: async () => {},
  may: async () => true,
  accountMayPull: async () => true,
  requireLogin: async () => {},
  owner: async () => undefined,
};

export interface GateOptions {
  /** The token endpoint; empty means `/token` on the host the request came to. */
  realm: string;
  service: string;
}

export function authGate(access: AccessService, options: GateOptions): AuthGate {
  const cache = new WeakMap<FastifyRequest, Promise<Authentication>>();

  const realm = (request: FastifyRequest): string =>
    options.realm || `${request.protocol}://${request.headers.host ?? request.hostname}/token`;

  const challenge = (request: FastifyRequest, scope?: string, error?: string): Record<string, string> => {
    const parts = [`realm="${realm(request)}"`, `service="${options.service}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (error) parts.push(`error="${error}"`);
    return { 'WWW-Authenticate': `Bearer ${parts.join(',')}` };
  };

  const authenticate = (request: FastifyRequest): Promise<Authentication> => {
    let pending = cache.get(request);
    if (!pending) {
      pending = access.authenticate(request.headers.authorization, request.ip, 'registry');
      cache.set(request, pending);
    }
    return pending;
  };

  /** The authentication, or the wire error for a failed one. */
  const known = async (request: FastifyRequest, scope?: string): Promise<Authentication> => {
    try {
      return await authenticate(request);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      if (error.reason === 'rate_limited') throw new RegistryError('TOOMANYREQUESTS', error.message);
      throw new RegistryError('UNAUTHORIZED', error.message, challenge(request, scope, 'invalid_token'));
    }
  };

  return {
    enabled: true,
    authentication: authenticate,
    async require(request, repository, action) {
      if (access.allowsAtOnce(request.headers.authorization, repository, action)) return;
      const scope = `repository:${repository}:${action === 'pull' ? 'pull' : action === 'push' ? 'pull,push' : 'delete'}`;
      const auth = await known(request, scope);
      const decision = await access.decide(auth, repository, action);
      if (decision === 'allow') return;
      const detail = [{ Type: 'repository', Name: repository, Action: action }];
      if (decision === 'unauthenticated')
        throw new RegistryError('UNAUTHORIZED', detail, challenge(request, scope));
      if (decision === 'insufficient_scope') {
        throw new RegistryError('UNAUTHORIZED', detail, challenge(request, scope, 'insufficient_scope'));
      }
      await access.audit({
        actor: principalName(auth.principal),
        actorKind: auth.principal.kind,
        event: 'access.denied',
        repository,
        action,
        source: request.ip,
        detail: { method: request.method },
      });
      throw new RegistryError('DENIED', detail);
    },
    async may(request, repository, action) {
      const auth = await known(request);
      return (await access.decide(auth, repository, action)) === 'allow';
    },
    async accountMayPull(request, repository) {
      const auth = await known(request);
      return (await access.actionsFor(auth.principal, repository)).has('pull');
    },
    async requireLogin(request) {
      const auth = await known(request);
      if (auth.method === 'none')
        throw new RegistryError('UNAUTHORIZED', 'authentication required', challenge(request));
    },
    async owner(request) {
      const auth = await known(request);
      return principalName(auth.principal);
    },
  };
}

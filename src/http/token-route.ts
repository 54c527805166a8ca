import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AccessService, AuthenticationError } from '../access/access-service.js';
import { ANONYMOUS, type Principal, principalName } from '../access/principal.js';
import type { TokenAudience } from '../access/token-service.js';

function tokenError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .header('Content-Type', 'application/json')
    .send(JSON.stringify({ errors: [{ code, message }] }));
}

/**
 * The Docker registry token endpoint: `GET /token?service=…&scope=…` with Basic credentials (a user or a
 * robot) or none, and the OAuth2 password grant on `POST /token`. The token grants, per scope, the requested
 * actions the account really has; an empty grant is still a token (the registry then refuses the action).
 *
 * `service` names the token's audience: the registry's service name (or none) gives a registry token for
 * `/v2/`; the admin API's (`auth.token.apiService`) gives an API token for `/api/v1`, to a logged-in account
 * only and with no scopes. Only a password makes either: a token never makes another.
 */
export function registerTokenRoute(app: FastifyInstance, access: AccessService): void {
  const audienceOf = (service: string | null): TokenAudience =>
    service === access.tokens.settings.apiService ? 'api' : 'registry';

  const issue = async (
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    scopes: string[],
    audience: TokenAudience,
  ) => {
    if (audience === 'api' && principal.kind === 'anonymous')
      return tokenError(reply, 401, 'UNAUTHORIZED', 'an admin API token needs a login');
    // The version is read before the grants, so a change in between retires the token rather than hiding.
    const grantsVersion = await access.grantsVersionOf(principal);
    const { access: granted, refused } =
      audience === 'api' ? { access: [], refused: [] } : await access.grantWithRefusals(principal, scopes);
    // A push refused shows here first: the client's first request of a push (a blob HEAD) is only a pull.
    if (principal.kind !== 'anonymous') {
      for (const { repository, actions } of refused) {
        for (const action of actions) {
          await access.audit({
            actor: principal.name,
            actorKind: principal.kind,
            event: 'access.denied',
            repository,
            action,
            source: request.ip,
            detail: { method: request.method, route: '/token' },
          });
        }
      }
    }
    const { token, expiresIn, issuedAt } = await access.tokens.issue(principalName(principal), granted, {
      audience,
      grantsVersion,
    });
    return reply
      .header('Cache-Control', 'no-store')
      .header('Content-Type', 'application/json')
      .send(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt }));
  };
  const loginFailure = (reply: FastifyReply, error: unknown): FastifyReply => {
    if (error instanceof AuthenticationError && error.reason === 'rate_limited') {
      return tokenError(reply, 429, 'TOOMANYREQUESTS', error.message);
    }
    if (error instanceof AuthenticationError) return tokenError(reply, 401, 'UNAUTHORIZED', error.message);
    throw error;
  };

  app.get('/token', async (request: FastifyRequest, reply) => {
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1));
    let principal: Principal = ANONYMOUS;
    const authorization = request.headers.authorization;
    if (authorization) {
      if (!/^basic /i.test(authorization))
        return tokenError(reply, 401, 'UNAUTHORIZED', 'the token endpoint takes Basic credentials');
      try {
        principal = (await access.authenticate(authorization, request.ip, 'registry')).principal;
      } catch (error) {
        return loginFailure(reply, error);
      }
    }
    return issue(request, reply, principal, query.getAll('scope'), audienceOf(query.get('service')));
  });

  app.post('/token', async (request: FastifyRequest, reply) => {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of request.raw) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024) return tokenError(reply, 400, 'UNSUPPORTED', 'request too large');
      parts.push(chunk as Buffer);
    }
    const form = new URLSearchParams(Buffer.concat(parts).toString('utf8'));
    if (form.get('grant_type') !== 'password') {
      return tokenError(
        reply,
        400,
        'UNSUPPORTED',
        'only grant_type=password is supported; refresh tokens are not issued',
      );
    }
    try {
      const principal = await access.login(
        form.get('username') ?? '',
        form.get('password') ?? '',
        request.ip,
      );
      return issue(
        request,
        reply,
        principal,
        (form.get('scope') ?? '').split(' '),
        audienceOf(form.get('service')),
      );
    } catch (error) {
      return loginFailure(reply, error);
    }
  });
}

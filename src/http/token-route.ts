import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AccessService, AuthenticationError } from '../access/access-service.js';
import { ANONYMOUS, type Principal, principalName } from '../access/principal.js';

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
 */
export function registerTokenRoute(app: FastifyInstance, access: AccessService): void {
  const issue = async (reply: FastifyReply, principal: Principal, scopes: string[]) => {
    const granted = await access.grant(principal, scopes);
    const { token, expiresIn, issuedAt } = await access.tokens.issue(principalName(principal), granted);
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
        principal = (await access.authenticate(authorization, request.ip)).principal;
      } catch (error) {
        return loginFailure(reply, error);
      }
    }
    return issue(reply, principal, query.getAll('scope'));
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
      return issue(reply, principal, (form.get('scope') ?? '').split(' '));
    } catch (error) {
      return loginFailure(reply, error);
    }
  });
}

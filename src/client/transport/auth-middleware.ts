import { type Clock, systemClock } from '../../clock/clock.js';
import { BerthError } from '../../oci/errors.js';
import {
  header,
  isReplayable,
  type Transport,
  type TransportMiddleware,
  type TransportRequest,
} from './transport.js';
import { type Challenge, parseWwwAuthenticate } from './www-authenticate.js';

export type AuthCredentials =
  | { username: string; password: string }
  /** An identity (refresh) token, as `docker login` to some registries stores. */
  | { identityToken: string };

export interface AuthOptions {
  /** Credentials for a registry host (`host[:port]`), or undefined for anonymous. */
  credentials(host: string): Promise<AuthCredentials | undefined>;
  /** Sends token requests; the base transport, without this middleware. */
  tokenTransport: Transport;
  /** When cached tokens expire is read from this clock (the system's by default; tests move a `ManualClock`). */
  clock?: Clock;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

// Spec default when a token response has no expires_in; refresh a little early to not race the expiry.
const DEFAULT_EXPIRES_IN = 60;
const EARLY_REFRESH_MS = 10_000;

/**
 * Docker registry authentication: answers `401` challenges with Basic credentials or a Bearer token fetched
 * from the challenge's realm, caches tokens per host and scope until they expire, and sends them ahead on
 * later requests so that most requests need no second round trip. A request whose body cannot be replayed
 * gets the 401 back (its caller resumes the upload after the next request fetched a fresh token).
 */
export function authMiddleware(options: AuthOptions): TransportMiddleware & {
  /** The challenge a host answered with, once known (for `berth login` checks). */
  challengeFor(host: string): Challenge | undefined;
} {
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now();
  const challenges = new Map<string, Challenge>();
  const tokens = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<string>>();

  const scopeKey = (host: string, scope: string[]): string => `${host} ${[...scope].sort().join(' ')}`;

  const fetchToken = async (
    host: string,
    challenge: Challenge,
    scope: string[],
    cacheAs: string[],
  ): Promise<string> => {
    const realm = challenge.params.realm;
    if (!realm) throw new BerthError('AUTH_FAILED', `${host}: Bearer challenge without a realm`);
    const url = new URL(realm);
    const credentials = await options.credentials(host);
    const headers: Record<string, string> = {};
    let request: TransportRequest;
    if (credentials && 'identityToken' in credentials) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'berth',
      });
      if (challenge.params.service) form.set('service', challenge.params.service);
      if (scope.length > 0) form.set('scope', scope.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      request = { method: 'POST', url, headers, body: form.toString() };
    } else {
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      for (const s of scope) url.searchParams.append('scope', s);
      if (credentials) {
        headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
      request = { method: 'GET', url, headers };
    }
    const response = await options.tokenTransport(request);
    if (response.status === 401 || response.status === 403) {
      await response.body.dump();
      throw new BerthError(
        'UNAUTHORIZED',
        credentials
          ? `${host}: authentication failed: the registry refused the credentials (wrong username or password?)`
          : `${host}: authentication required: run \`berth login ${host}\``,
      );
    }
    if (response.status !== 200) {
      const text = (await response.body.text()).slice(0, 200);
      throw new BerthError(
        'AUTH_FAILED',
        `${host}: token request to ${url.origin} failed with ${response.status}: ${text}`,
      );
    }
    const body = (await response.body.json()) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
      issued_at?: string;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new BerthError('AUTH_FAILED', `${host}: token response holds no token`);
    const issued = body.issued_at ? Date.parse(body.issued_at) : Number.NaN;
    const start = Number.isFinite(issued) && Math.abs(issued - now()) < 300_000 ? issued : now();
    const expiresIn = body.expires_in && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN;
    tokens.set(scopeKey(host, cacheAs), {
      token,
      expiresAt: start + expiresIn * 1000 - Math.min(EARLY_REFRESH_MS, (expiresIn * 1000) / 4),
    });
    return token;
  };

  /** The Authorization value for a request of `scope`; `ask` is what to ask the token server for. */
  const authorization = async (
    host: string,
    scope: string[],
    fresh: boolean,
    ask: string[] = scope,
  ): Promise<string | undefined> => {
    const challenge = challenges.get(host);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await options.credentials(host);
      if (!credentials || !('username' in credentials)) return undefined;
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (challenge.scheme === 'bearer') {
      const cached = tokens.get(scopeKey(host, scope));
      if (!fresh && cached && cached.expiresAt > now()) return `Bearer ${cached.token}`;
      // Uploads that start together need the same token: one request to the token server serves them all.
      const key = `${scopeKey(host, scope)} ${[...ask].sort().join(' ')}`;
      let pending = inflight.get(key);
      if (!pending) {
        pending = fetchToken(host, challenge, ask, scope).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return `Bearer ${await pending}`;
    }
    return undefined;
  };

  const middleware =
    (next: Transport): Transport =>
    async (request) => {
      if (request.anonymous) return next(request);
      const host = request.url.host;
      const scope = request.scope ?? [];
      const withAuth = async (fresh: boolean): Promise<TransportRequest> => {
        const value = await authorization(host, scope, fresh);
        return value ? { ...request, headers: { ...request.headers, authorization: value } } : request;
      };
      const sent = await withAuth(false);
      const response = await next(sent);
      if (response.status !== 401) return response;
      const raw = header(response, 'www-authenticate');
      const challenge = raw
        ? parseWwwAuthenticate(raw).find((c) => c.scheme === 'bearer' || c.scheme === 'basic')
        : undefined;
      if (!challenge) return response;
      const hadAuth = challenges.has(host);
      challenges.set(host, challenge);
      // A token that expired (or was revoked) in the middle of a long push: drop it, the next request refetches.
      tokens.delete(scopeKey(host, scope));
      const scopes = challenge.params.scope
        ? [...new Set([...scope, ...challenge.params.scope.split(' ')])]
        : scope;
      if (!isReplayable(request.body)) return response;
      // Basic credentials that were sent and refused will not do better a second time.
      if (challenge.scheme === 'basic' && hadAuth && sent.headers?.authorization !== undefined) {
        await response.body.dump();
        throw new BerthError(
          'UNAUTHORIZED',
          `${host}: the registry refused the credentials (wrong username or password?)`,
        );
      }
      await response.body.dump();
      const value = await authorization(host, scope, true, scopes);
      if (!value) {
        throw new BerthError('UNAUTHORIZED', `${host}: authentication required: run \`berth login ${host}\``);
      }
      const retried = await next({ ...request, headers: { ...request.headers, authorization: value } });
      if (retried.status === 401 && challenge.scheme === 'basic') {
        await retried.body.dump();
        throw new BerthError(
          'UNAUTHORIZED',
          `${host}: the registry refused the credentials (wrong username or password?)`,
        );
      }
      return retried;
    };
  return Object.assign(middleware, { challengeFor: (host: string) => challenges.get(host) });
}

import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../clock/clock.js';
import type { AccessStore } from '../metadata/access-store.js';
import type { Action } from './principal.js';

const ALGORITHM = 'ES256';

/** One entry of a token's `access` claim, as the Docker token spec defines it. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** What a token opens: the registry (`/v2/`, the Docker token spec) or the admin API (`/api/v1`), never both. */
export type TokenAudience = 'registry' | 'api';

export interface TokenClaims {
  /** The user or robot the token was issued to (`anonymous` for none). */
  subject: string;
  audience: TokenAudience;
  access: TokenAccess[];
  /** The account's grants version when the token was issued; a later change of grants retires the token. */
  grantsVersion: number;
  expiresAt: number;
}

export interface TokenSettings {
  issuer: string;
  /** The registry tokens' audience: the registry's service name, as named in the challenge. */
  service: string;
  /** The admin API tokens' audience, asked for as `service` at the token endpoint. */
  apiService: string;
  /** Seconds a registry token lives. */
  expiresIn: number;
  /** Seconds an admin API token lives (a web UI session). */
  apiExpiresIn: number;
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * Docker registry tokens: JWTs signed ES256 with a key Berth generates once and keeps in the metadata store,
 * so every node of a registry signs and checks with the same key. Verification pins the algorithm, the
 * issuer, the audience and our key: `alg: none` and tokens signed by anyone else fail.
 */
export class TokenService {
  private readonly verified = new Map<string, TokenClaims>();

  private constructor(
    private readonly kid: string,
    private readonly privateKey: SigningKey,
    private readonly publicKey: SigningKey,
    readonly settings: TokenSettings,
    private readonly clock: Clock,
  ) {}

  /** `clock` dates the tokens issued (iat, nbf, exp) and decides whether a token has expired. */
  static async open(store: AccessStore, settings: TokenSettings, clock: Clock): Promise<TokenService> {
    let keys = await store.signingKeys();
    if (keys.length === 0) {
      const pair = await generateKeyPair(ALGORITHM, { extractable: true });
      const jwk = await exportJWK(pair.privateKey);
      // Two nodes starting at once may both get here; the first key written wins for both.
      await store.addSigningKey({
        kid: randomUUID(),
        algorithm: ALGORITHM,
        privateJwk: JSON.stringify(jwk),
        createdAt: clock.now(),
      });
      keys = await store.signingKeys();
    }
    const key = keys[0];
    if (!key) throw new Error('no token signing key');
    const jwk = JSON.parse(key.privateJwk) as JWK;
    const privateKey = (await importJWK(jwk, ALGORITHM)) as SigningKey;
    const { d: _d, ...publicJwk } = jwk;
    const publicKey = (await importJWK(publicJwk, ALGORITHM)) as SigningKey;
    return new TokenService(key.kid, privateKey, publicKey, settings, clock);
  }

  /** The `aud` claim of tokens for one use. */
  audienceName(audience: TokenAudience): string {
    return audience === 'api' ? this.settings.apiService : this.settings.service;
  }

  async issue(
    subject: string,
    access: TokenAccess[],
    options: { audience: TokenAudience; grantsVersion: number },
  ): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const issuedAt = Math.floor(this.clock.now() / 1000);
    const expiresIn = options.audience === 'api' ? this.settings.apiExpiresIn : this.settings.expiresIn;
    const token = await new SignJWT({ access, gv: options.grantsVersion })
      .setProtectedHeader({ alg: ALGORITHM, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setAudience(this.audienceName(options.audience))
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 5)
      .setExpirationTime(issuedAt + expiresIn)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn, issuedAt: new Date(issuedAt * 1000).toISOString() };
  }

  /** The claims of a token for this audience already verified and not expired, without any work. */
  cachedClaims(token: string, audience: TokenAudience): TokenClaims | undefined {
    const cached = this.verified.get(token);
    return cached && cached.audience === audience && cached.expiresAt * 1000 > this.clock.now()
      ? cached
      : undefined;
  }

  /**
   * The claims of a token Berth issued for this audience and that is still valid, or undefined: a registry
   * token never opens the admin API, nor an API token the registry. Results are cached until expiry.
   */
  async verify(token: string, audience: TokenAudience): Promise<TokenClaims | undefined> {
    const now = this.clock.now();
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt * 1000 > now) return cached.audience === audience ? cached : undefined;
      this.verified.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.audienceName(audience),
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      });
      // Both names in `aud` would make one token good for both uses: such a token was not made here.
      if (Array.isArray(payload.aud) && payload.aud.length !== 1) return undefined;
      const access = Array.isArray(payload.access) ? (payload.access as TokenAccess[]) : [];
      const claims: TokenClaims = {
        subject: String(payload.sub),
        audience,
        access,
        grantsVersion: typeof payload.gv === 'number' ? payload.gv : -1,
        expiresAt: Number(payload.exp),
      };
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(token, claims);
      return claims;
    } catch {
      return undefined;
    }
  }
}

/** The actions a token grants on a repository. */
export function grantedActions(claims: TokenClaims, repository: string): Set<Action> {
  const granted = new Set<Action>();
  for (const entry of claims.access) {
    if (entry.type !== 'repository' || entry.name !== repository) continue;
    for (const action of entry.actions) {
      if (action === '*') {
        granted.add('pull');
        granted.add('push');
        granted.add('delete');
      } else if (action === 'pull' || action === 'push' || action === 'delete') granted.add(action);
    }
  }
  return granted;
}

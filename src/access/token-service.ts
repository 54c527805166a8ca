import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { AccessStore } from '../metadata/access-store.js';
import type { Action } from './principal.js';

const ALGORITHM = 'ES256';

/** One entry of a token's `access` claim, as the Docker token spec defines it. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  /** The user or robot the token was issued to (`anonymous` for none). */
  subject: string;
  access: TokenAccess[];
  expiresAt: number;
}

export interface TokenSettings {
  issuer: string;
  /** The audience: the registry's service name, as named in the challenge. */
  service: string;
  /** Seconds a token lives. */
  expiresIn: number;
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
  ) {}

  static async open(store: AccessStore, settings: TokenSettings): Promise<TokenService> {
    let keys = await store.signingKeys();
    if (keys.length === 0) {
      const pair = await generateKeyPair(ALGORITHM, { extractable: true });
      const jwk = await exportJWK(pair.privateKey);
      // Two nodes starting at once may both get here; the first key written wins for both.
      await store.addSigningKey({
        kid: randomUUID(),
        algorithm: ALGORITHM,
        privateJwk: JSON.stringify(jwk),
        createdAt: Date.now(),
      });
      keys = await store.signingKeys();
    }
    const key = keys[0];
    if (!key) throw new Error('no token signing key');
    const jwk = JSON.parse(key.privateJwk) as JWK;
    const privateKey = (await importJWK(jwk, ALGORITHM)) as SigningKey;
    const { d: _d, ...publicJwk } = jwk;
    const publicKey = (await importJWK(publicJwk, ALGORITHM)) as SigningKey;
    return new TokenService(key.kid, privateKey, publicKey, settings);
  }

  async issue(
    subject: string,
    access: TokenAccess[],
    now = Date.now(),
  ): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const issuedAt = Math.floor(now / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: ALGORITHM, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.service)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 5)
      .setExpirationTime(issuedAt + this.settings.expiresIn)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.settings.expiresIn, issuedAt: new Date(issuedAt * 1000).toISOString() };
  }

  /** The claims of a token already verified and not expired, without any work; undefined when not known. */
  cachedClaims(token: string, now = Date.now()): TokenClaims | undefined {
    const cached = this.verified.get(token);
    return cached && cached.expiresAt * 1000 > now ? cached : undefined;
  }

  /** The claims of a token Berth issued and that is still valid, or undefined. Results are cached until expiry. */
  async verify(token: string, now = Date.now()): Promise<TokenClaims | undefined> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt * 1000 > now) return cached;
      this.verified.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.service,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      });
      const access = Array.isArray(payload.access) ? (payload.access as TokenAccess[]) : [];
      const claims: TokenClaims = { subject: String(payload.sub), access, expiresAt: Number(payload.exp) };
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

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.js';
import type { AccessStore, AuditEvent, PolicyRecord } from '../metadata/access-store.js';
import { isRepoName } from '../oci/names.js';
import { type AccessFacts, allowedActions } from './authorizer.js';
import { BoundedSlots } from './bounded-slots.js';
import { LoginLimiter } from './login-limiter.js';
import { verifySecret } from './password-hash.js';
import {
  ACTIONS,
  type Action,
  ANONYMOUS,
  isAction,
  isRobotName,
  type Policy,
  PROJECT_ROLES,
  type Principal,
  type ProjectRole,
  principalName,
  projectOf,
} from './principal.js';
import {
  grantedActions,
  type TokenAccess,
  type TokenAudience,
  type TokenClaims,
  TokenService,
  type TokenSettings,
} from './token-service.js';

export interface AccessSettings {
  token: TokenSettings;
  /** Failed logins allowed per (account, source address) in `loginWindow` seconds (five times that per address). */
  loginAttempts: number;
  loginWindow: number;
  /** Password checks (scrypt) run at once, and how many more may wait; past both, 429 at once. */
  loginChecks: { concurrency: number; queue: number };
}

/** A secret that matched: whose it is, and until when a robot's is good. */
interface SecretCheck {
  principal: Principal;
  expiresAt: number | null;
}

/** An account as a token is checked against: who it is now, and its grants version. */
interface Account {
  principal: Principal;
  grantsVersion: number;
}

/** Who a request comes from, and how they proved it. */
export type Authentication =
  | { method: 'none'; principal: Principal }
  | { method: 'basic'; principal: Principal }
  | { method: 'bearer'; principal: Principal; claims: TokenClaims };

/** The outcome of checking one action: go on, ask for credentials (401), ask for a wider token (401), or no (403). */
export type Decision = 'allow' | 'unauthenticated' | 'insufficient_scope' | 'denied';

/** Failures of authentication that have their own answer on the wire. */
export class AuthenticationError extends Error {
  constructor(
    readonly reason: 'bad_credentials' | 'rate_limited' | 'bad_token',
    message: string,
  ) {
    super(message);
  }
}

const VERIFIED_TTL_MS = 60_000;
const FACTS_TTL_MS = 5_000;
// Checked when the user does not exist, so that an unknown name takes as long as a wrong password.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function toPolicies(records: PolicyRecord[]): Policy[] {
  return records.map((r) => ({ repo: r.repo, actions: r.actions.filter(isAction) }));
}

/**
 * Authentication and authorization for the registry: users and robots checked against their hashes (with a
 * short cache, since Basic auth sends them on every request), tokens issued and verified, permissions
 * computed from projects, memberships and policy roles, and the audit log written.
 */
export class AccessService {
  private readonly verified = new Map<string, { principal: Principal; until: number }>();
  private readonly facts = new Map<string, { facts: AccessFacts; until: number }>();
  private readonly principals = new Map<string, { account: Account; until: number }>();
  private readonly robotExpiry = new Map<string, number>();
  private readonly limiter: LoginLimiter;
  private readonly checks: BoundedSlots;
  // Past its address's limit, an unknown account's check waits in that address's lane, one at a time.
  private readonly slowLanes = new Map<string, BoundedSlots>();

  private constructor(
    readonly store: AccessStore,
    readonly tokens: TokenService,
    private readonly log: Logger,
    settings: AccessSettings,
    /** The time every expiry here is decided by; admin use cases date their records with it too. */
    readonly clock: Clock,
  ) {
    this.limiter = new LoginLimiter(settings.loginAttempts, settings.loginWindow * 1000, clock);
    this.checks = new BoundedSlots(settings.loginChecks.concurrency, settings.loginChecks.queue);
  }

  /** `clock` decides every expiry here: tokens, robots, cached logins and permissions, login windows, audit times. */
  static async open(
    store: AccessStore,
    settings: AccessSettings,
    log: Logger,
    clock: Clock,
  ): Promise<AccessService> {
    const tokens = await TokenService.open(store, settings.token, clock);
    return new AccessService(store, tokens, log, settings, clock);
  }

  /** Forgets cached logins and permissions, after an administrator changed users, robots, projects or roles. */
  invalidate(): void {
    this.verified.clear();
    this.facts.clear();
    this.principals.clear();
    this.robotExpiry.clear();
  }

  async audit(event: Omit<AuditEvent, 'at'> & { at?: number }): Promise<void> {
    try {
      await this.store.audit({ at: this.clock.now(), ...event });
    } catch (error) {
      this.log.error({ err: error, event: event.event }, 'audit write failed');
    }
  }

  /**
   * Checks a user name or robot name with its password or secret. The attempt is counted before the hash is
   * computed, so concurrent guesses cannot pass the limit; checks run a few at a time and the overflow is
   * refused at once, while a credential verified a moment ago needs no check and waits for nobody.
   */
  async login(name: string, secret: string, source: string): Promise<Principal> {
    // The limit comes before the cache: over the limit, a right guess must not be told apart from a wrong one.
    const ticket = this.limiter.reserve(name, source);
    if (!ticket) return this.refuseLogin(name, source, 'too many failed attempts');
    const cacheKey = createHash('sha256').update(name).update('\0').update(secret).digest('hex');
    const cached = this.verified.get(cacheKey);
    if (cached && cached.until > this.clock.now()) {
      this.limiter.settle(ticket, true);
      return cached.principal;
    }
    let outcome: { value: SecretCheck | undefined } | undefined;
    try {
      outcome = await this.checkInSlot(
        () => this.checkSecret(name, secret),
        ticket.slow ? source : undefined,
      );
    } catch (error) {
      this.limiter.release(ticket);
      throw error;
    }
    if (!outcome) {
      this.limiter.release(ticket);
      return this.refuseLogin(name, source, 'too many logins being checked');
    }
    const checked = outcome.value;
    this.limiter.settle(ticket, checked !== undefined);
    if (!checked) {
      await this.audit({
        actor: name,
        actorKind: isRobotName(name) ? 'robot' : 'user',
        event: 'login.failed',
        source,
      });
      throw new AuthenticationError('bad_credentials', 'wrong user name or password');
    }
    const { principal } = checked;
    // A robot's login is not remembered past its expiry.
    const until = Math.min(this.clock.now() + VERIFIED_TTL_MS, checked.expiresAt ?? Number.POSITIVE_INFINITY);
    this.verified.set(cacheKey, { principal, until });
    if (this.verified.size > 10_000) this.verified.clear();
    await this.audit({ actor: name, actorKind: principal.kind, event: 'login.succeeded', source });
    return principal;
  }

  private async refuseLogin(name: string, source: string, reason: string): Promise<never> {
    await this.audit({
      actor: name,
      actorKind: 'unknown',
      event: 'login.refused',
      source,
      detail: { reason },
    });
    throw new AuthenticationError('rate_limited', 'too many login attempts; try again later');
  }

  /** A password check in a slot of the shared pool, behind the address's slow lane when it has one. */
  private async checkInSlot<T>(
    work: () => Promise<T>,
    slowSource: string | undefined,
  ): Promise<{ value: T } | undefined> {
    if (slowSource === undefined) return this.checks.run(work);
    let lane = this.slowLanes.get(slowSource);
    if (!lane) {
      lane = new BoundedSlots(1, 2);
      this.slowLanes.set(slowSource, lane);
    }
    try {
      return (await lane.run(() => this.checks.run(work)))?.value;
    } finally {
      if (!lane.busy) this.slowLanes.delete(slowSource);
    }
  }

  private async checkSecret(name: string, secret: string): Promise<SecretCheck | undefined> {
    if (isRobotName(name)) {
      const robot = await this.store.getRobot(name);
      const ok = await verifySecret(secret, robot?.secretHash ?? DUMMY_HASH);
      if (!robot || !ok) return undefined;
      if (robot.expiresAt !== null && robot.expiresAt <= this.clock.now()) return undefined;
      return {
        principal: { kind: 'robot', name, permissions: toPolicies(robot.permissions) },
        expiresAt: robot.expiresAt,
      };
    }
    const user = await this.store.getUser(name);
    const ok = await verifySecret(secret, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) return undefined;
    return { principal: { kind: 'user', name, admin: user.admin }, expiresAt: null };
  }

  /** The principal an `Authorization` header proves; no header is anonymous. */
  async authenticate(
    authorization: string | undefined,
    source: string,
    audience: TokenAudience,
  ): Promise<Authentication> {
    if (!authorization) return { method: 'none', principal: ANONYMOUS };
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new AuthenticationError('bad_credentials', 'malformed Basic credentials');
      return {
        method: 'basic',
        principal: await this.login(decoded.slice(0, colon), decoded.slice(colon + 1), source),
      };
    }
    if (scheme === 'bearer') {
      const claims = await this.tokens.verify(value, audience);
      if (!claims) {
        throw new AuthenticationError(
          'bad_token',
          audience === 'api'
            ? 'invalid or expired token: the admin API takes Basic credentials or a token issued for it (service=' +
                `${this.tokens.settings.apiService})`
            : 'invalid or expired token',
        );
      }
      const { principal, grantsVersion } = await this.accountNamed(claims.subject);
      // The token's grant must not outlive its account: deleted, revoked or expired since it was issued.
      if (principal.kind === 'anonymous' && claims.subject !== 'anonymous')
        throw new AuthenticationError(
          'bad_token',
          'the account of this token no longer exists or has expired',
        );
      // Nor what the account may do: a registry token lists grants, which a membership or role change ends.
      if (audience === 'registry' && claims.grantsVersion !== grantsVersion)
        throw new AuthenticationError(
          'bad_token',
          "the account's permissions changed since this token was issued: get a new one",
        );
      return { method: 'bearer', principal, claims };
    }
    throw new AuthenticationError('bad_credentials', `unsupported authorization scheme ${scheme}`);
  }

  /**
   * The current account behind a name in a token (a deleted or expired account is anonymous now) and its
   * grants version. Cached for a few seconds like permissions: every bearer request asks, and a database
   * round trip per request would cost the registry its speed. `invalidate()` forgets it at once on this node.
   */
  async accountNamed(name: string): Promise<Account> {
    if (name === 'anonymous') return { principal: ANONYMOUS, grantsVersion: 0 };
    const cached = this.principals.get(name);
    if (cached && cached.until > this.clock.now()) return cached.account;
    const account = await this.lookupAccount(name);
    // A robot that expires sooner than the cache would keep it must not outlive its expiry.
    this.principals.set(name, {
      account,
      until: Math.min(
        this.clock.now() + FACTS_TTL_MS,
        account.principal.kind === 'robot'
          ? (this.robotExpiry.get(name) ?? Number.POSITIVE_INFINITY)
          : Number.POSITIVE_INFINITY,
      ),
    });
    if (this.principals.size > 10_000) this.principals.clear();
    return account;
  }

  /** The grants version tokens for this principal carry. */
  async grantsVersionOf(principal: Principal): Promise<number> {
    return (await this.accountNamed(principalName(principal))).grantsVersion;
  }

  private async lookupAccount(name: string): Promise<Account> {
    const gone = { principal: ANONYMOUS, grantsVersion: 0 };
    if (isRobotName(name)) {
      const robot = await this.store.getRobot(name);
      if (!robot || (robot.expiresAt !== null && robot.expiresAt <= this.clock.now())) return gone;
      if (robot.expiresAt !== null) this.robotExpiry.set(name, robot.expiresAt);
      return {
        principal: { kind: 'robot', name, permissions: toPolicies(robot.permissions) },
        grantsVersion: robot.grantsVersion ?? 0,
      };
    }
    const user = await this.store.getUser(name);
    if (!user) return gone;
    return { principal: { kind: 'user', name, admin: user.admin }, grantsVersion: user.grantsVersion ?? 0 };
  }

  /** What the principal may do on the repository, from projects, memberships and roles (cached briefly). */
  async actionsFor(principal: Principal, repository: string): Promise<Set<Action>> {
    if (principal.kind === 'user' && principal.admin) return new Set(ACTIONS);
    const project = projectOf(repository);
    // Facts gathered under an older grants version are never used again once the account's version moves.
    const version = principal.kind === 'anonymous' ? 0 : await this.grantsVersionOf(principal);
    const key = `${principal.kind}:${principalName(principal)}:${version}:${project}`;
    let entry = this.facts.get(key);
    if (!entry || entry.until <= this.clock.now()) {
      const projectRow = await this.store.getProject(project);
      const facts: AccessFacts = { rolePolicies: [] };
      if (projectRow) facts.project = { name: projectRow.name, public: projectRow.public };
      if (principal.kind !== 'anonymous') {
        const role = projectRow
          ? await this.store.memberRole(project, principal.kind, principal.name)
          : undefined;
        if (role && (PROJECT_ROLES as string[]).includes(role)) facts.memberRole = role as ProjectRole;
        facts.rolePolicies = toPolicies(await this.store.policiesFor(principal.kind, principal.name));
      }
      entry = { facts, until: this.clock.now() + FACTS_TTL_MS };
      this.facts.set(key, entry);
      if (this.facts.size > 10_000) this.facts.clear();
    }
    return allowedActions(principal, repository, entry.facts);
  }

  /**
   * The common case decided without a single await: a bearer token already verified, its account known,
   * granting the action. False means only "not sure": the full check follows.
   */
  allowsAtOnce(authorization: string | undefined, repository: string, action: Action): boolean {
    if (!authorization?.startsWith('Bearer ')) return false;
    const claims = this.tokens.cachedClaims(authorization.slice(7).trim(), 'registry');
    if (!claims) return false;
    if (claims.subject !== 'anonymous') {
      const known = this.principals.get(claims.subject);
      if (!known || known.until <= this.clock.now() || known.account.principal.kind === 'anonymous')
        return false;
      if (known.account.grantsVersion !== claims.grantsVersion) return false;
    }
    return grantedActions(claims, repository).has(action);
  }

  /** Whether an authenticated request may do `action` on the repository, and if not, how to answer. */
  async decide(auth: Authentication, repository: string, action: Action): Promise<Decision> {
    if (auth.method === 'bearer') {
      if (grantedActions(auth.claims, repository).has(action)) return 'allow';
      // The token does not cover it: worth a new token only when the account itself may do it.
      if ((await this.actionsFor(auth.principal, repository)).has(action)) return 'insufficient_scope';
    } else if ((await this.actionsFor(auth.principal, repository)).has(action)) return 'allow';
    // Nobody logged in (no credentials, or an anonymous token): logging in is the way, so say that.
    return auth.principal.kind === 'anonymous' ? 'unauthenticated' : 'denied';
  }

  /**
   * The token service's grant: for each requested scope, the requested actions the principal really has
   * (`*` asks for all). Invalid names and unknown types are left out, as the token spec says to.
   */
  async grant(principal: Principal, scopes: string[]): Promise<TokenAccess[]> {
    const { access } = await this.grantWithRefusals(principal, scopes);
    return access;
  }

  /** `grant`, and per repository the requested actions that were not granted (a refused push shows here). */
  async grantWithRefusals(
    principal: Principal,
    scopes: string[],
  ): Promise<{ access: TokenAccess[]; refused: { repository: string; actions: Action[] }[] }> {
    const access: TokenAccess[] = [];
    const refused: { repository: string; actions: Action[] }[] = [];
    for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
      const m = /^([a-z]+)(?:\([a-z0-9]+\))?:([^:]+):([a-z*,]*)$/.exec(scope);
      if (!m) continue;
      const [, type, name, wanted] = m as unknown as [string, string, string, string];
      const requested = wanted.split(',').filter(Boolean);
      if (type === 'registry' && name === 'catalog') {
        if (principal.kind !== 'anonymous') access.push({ type, name, actions: ['*'] });
        continue;
      }
      if (type !== 'repository' || !isRepoName(name)) continue;
      const allowed = await this.actionsFor(principal, name);
      const actions = requested.includes('*')
        ? [...allowed]
        : requested.filter((a) => isAction(a) && allowed.has(a));
      const denied = requested.filter((a): a is Action => isAction(a) && !allowed.has(a));
      if (denied.length > 0) refused.push({ repository: name, actions: denied });
      const existing = access.find((a) => a.type === type && a.name === name);
      if (existing) existing.actions = [...new Set([...existing.actions, ...actions])];
      else access.push({ type, name, actions: [...new Set(actions)] });
    }
    return { access, refused };
  }
}

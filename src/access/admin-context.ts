import type { Clock } from '../clock/clock.js';
import type { AccessStore } from '../metadata/access-store.js';
import { BerthError } from '../oci/errors.js';
import type { AccessService } from './access-service.js';
import type { Principal } from './principal.js';

/** A logged-in user or robot: the admin API has nothing for anonymous callers. */
export type Caller = Exclude<Principal, { kind: 'anonymous' }>;

/** One admin request as its use case sees it: who calls, from where, and by which route (for the audit log). */
export interface AdminCall {
  caller: Caller;
  source: string;
  method: string;
  route: string;
}

/**
 * What a request names and carries beyond its target, read only once the caller may act: a refused caller
 * gets its 403 (or 404) whatever it sent, and learns nothing from the input's rules.
 */
export type Input<T> = () => T | Promise<T>;

/** The admin API's failures, as codes of its error table (`INVALID` 400, `DENIED` 403, `NOT_FOUND` 404, …). */
export type AdminFailure = 'INVALID' | 'DENIED' | 'NOT_FOUND' | 'CONFLICT' | 'TOOMANYREQUESTS';

export function adminFailure(code: AdminFailure, message: string): BerthError {
  return new BerthError(code, message);
}

export function isSystemAdmin(caller: Caller): boolean {
  return caller.kind === 'user' && caller.admin;
}

/** What every admin use case shares: the store, the time, refusing with an audit trail, recording a change. */
export class AdminContext {
  readonly store: AccessStore;

  constructor(
    readonly access: AccessService,
    readonly clock: Clock,
  ) {
    this.store = access.store;
  }

  /** Refuses the call (403), leaving an `access.denied` event so that probing shows in the log. */
  async deny(call: AdminCall, why: string): Promise<never> {
    await this.access.audit({
      actor: call.caller.name,
      actorKind: call.caller.kind,
      source: call.source,
      event: 'access.denied',
      detail: { method: call.method, route: call.route },
    });
    throw adminFailure('DENIED', why);
  }

  async requireSystemAdmin(call: AdminCall, why: string): Promise<void> {
    if (!isSystemAdmin(call.caller)) await this.deny(call, why);
  }

  /** Records a change: cached logins and permissions are dropped first, then the event is written. */
  async changed(call: AdminCall, event: string, detail: Record<string, unknown>): Promise<void> {
    this.access.invalidate();
    await this.access.audit({
      actor: call.caller.name,
      actorKind: call.caller.kind,
      source: call.source,
      event,
      detail,
    });
  }

  /** Whether a user or robot of that name exists: members and bindings name only existing accounts. */
  async subjectExists(kind: 'user' | 'robot', subject: string): Promise<boolean> {
    const found = kind === 'user' ? await this.store.getUser(subject) : await this.store.getRobot(subject);
    return found !== undefined;
  }
}

import type { PolicyRecord, RobotRecord } from '../metadata/access-store.js';
import { type AdminCall, type AdminContext, adminFailure, type Input } from './admin-context.js';
import { generateSecret, hashSecret } from './password-hash.js';
import type { Action, Policy } from './principal.js';

/** A robot account as the admin API shows it: never the secret's hash. */
export interface RobotAccount {
  name: string;
  description: string;
  permissions: PolicyRecord[];
  expiresAt: number | null;
  expired: boolean;
  createdBy: string;
  createdAt: number;
}

export interface NewRobot {
  /** The full name, `robot$…`. */
  name: string;
  description?: string | undefined;
  /** Seconds from now, or a moment (epoch milliseconds); absent: the robot does not expire. */
  expires?: { in: number } | { at: number } | undefined;
  permissions?: Policy[] | undefined;
  /** Shorthand for `{repo: "<project>/**", actions}` per project; each must exist. */
  projects?: string[] | undefined;
  actions?: Action[] | undefined;
}

function robotAccount(robot: RobotRecord, now: number): RobotAccount {
  return {
    name: robot.name,
    description: robot.description,
    permissions: robot.permissions,
    expiresAt: robot.expiresAt,
    expired: robot.expiresAt !== null && robot.expiresAt <= now,
    createdBy: robot.createdBy,
    createdAt: robot.createdAt,
  };
}

/** Robot accounts for CI: scoped, expiring, revocable; their secret is shown once, at creation. */
export class RobotAdmin {
  constructor(private readonly context: AdminContext) {}

  async list(call: AdminCall): Promise<RobotAccount[]> {
    await this.requireAdmin(call);
    const now = this.context.clock.now();
    return (await this.context.store.listRobots()).map((robot) => robotAccount(robot, now));
  }

  async create(call: AdminCall, input: Input<NewRobot>): Promise<{ robot: RobotAccount; secret: string }> {
    await this.requireAdmin(call);
    const body = await input();
    const now = this.context.clock.now();
    const expiresAt =
      body.expires === undefined
        ? null
        : 'in' in body.expires
          ? now + body.expires.in * 1000
          : body.expires.at;
    if (body.expires !== undefined && 'at' in body.expires && body.expires.at <= now)
      throw adminFailure('INVALID', 'expiresAt: is in the past');
    const permissions: Policy[] = [...(body.permissions ?? [])];
    for (const [index, project] of (body.projects ?? []).entries()) {
      if (!(await this.context.store.getProject(project)))
        throw adminFailure('INVALID', `projects.${index}: no project named "${project}"`);
      // A project is shorthand for everything under it.
      permissions.push({ repo: `${project}/**`, actions: body.actions ?? [] });
    }
    const secret = generateSecret();
    const robot: RobotRecord = {
      name: body.name,
      secretHash: await hashSecret(secret),
      permissions,
      description: body.description ?? '',
      expiresAt,
      createdBy: call.caller.name,
      createdAt: now,
    };
    if (!(await this.context.store.createRobot(robot)))
      throw adminFailure('CONFLICT', `robot "${robot.name}" exists`);
    await this.context.changed(call, 'robot.created', {
      robot: robot.name,
      permissions,
      expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    });
    return { robot: robotAccount(robot, now), secret };
  }

  async get(call: AdminCall, input: Input<{ name: string }>): Promise<RobotAccount> {
    await this.requireAdmin(call);
    const { name } = await input();
    const robot = await this.context.store.getRobot(name);
    if (!robot) throw adminFailure('NOT_FOUND', `no robot named "${name}"`);
    return robotAccount(robot, this.context.clock.now());
  }

  async revoke(call: AdminCall, input: Input<{ name: string }>): Promise<void> {
    await this.requireAdmin(call);
    const { name } = await input();
    if (!(await this.context.store.deleteRobot(name)))
      throw adminFailure('NOT_FOUND', `no robot named "${name}"`);
    await this.context.changed(call, 'robot.revoked', { robot: name });
  }

  private requireAdmin(call: AdminCall): Promise<void> {
    return this.context.requireSystemAdmin(call, 'only system admins manage robot accounts');
  }
}

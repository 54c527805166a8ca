import type { ImmutabilityRuleRecord, ImmutabilityStore } from '../metadata/immutability-store.js';
import {
  type AdminCall,
  type AdminContext,
  adminFailure,
  type Input,
  isSystemAdmin,
} from './admin-context.js';
import type { ProjectAdmin } from './project-admin.js';

export type ImmutabilityRule = ImmutabilityRuleRecord;

export interface NewRule {
  repository: string;
  tag: string;
  kind: 'include' | 'exclude';
}

// A project's rules are read on every tagged push: a bound keeps that read and the decision small.
export const MAX_RULES_PER_PROJECT = 100;

/**
 * Tag immutability rules of a project. Whoever sees the project sees its rules (a refused push names them
 * anyway); system admins and the project's project-admins add and remove them, which the audit log records.
 */
export class ImmutabilityAdmin {
  constructor(
    private readonly context: AdminContext,
    private readonly projects: ProjectAdmin,
    private readonly store: ImmutabilityStore,
  ) {}

  async list(call: AdminCall, project: string): Promise<ImmutabilityRule[]> {
    const { project: found } = await this.projects.get(call, project);
    return this.store.listRules(found.name);
  }

  async add(call: AdminCall, project: string, input: Input<NewRule>): Promise<ImmutabilityRule> {
    const name = await this.requireProjectAdmin(call, project);
    const body = await input();
    if ((await this.store.countRules(name)) >= MAX_RULES_PER_PROJECT)
      throw adminFailure(
        'CONFLICT',
        `project "${name}" has ${MAX_RULES_PER_PROJECT} immutability rules already`,
      );
    const rule = await this.store.addRule({ project: name, ...body, createdAt: this.context.clock.now() });
    await this.context.changed(call, 'immutability.added', {
      project: name,
      id: rule.id,
      repository: rule.repository,
      tag: rule.tag,
      kind: rule.kind,
    });
    return rule;
  }

  async remove(call: AdminCall, project: string, input: Input<number>): Promise<void> {
    const name = await this.requireProjectAdmin(call, project);
    const id = await input();
    if (!(await this.store.removeRule(name, id)))
      throw adminFailure('NOT_FOUND', `project "${name}" has no immutability rule ${id}`);
    await this.context.changed(call, 'immutability.removed', { project: name, id });
  }

  /** System admins, and users who are the project's `project-admin`; a project the caller cannot see is 404. */
  private async requireProjectAdmin(call: AdminCall, project: string): Promise<string> {
    const { project: found, role } = await this.projects.get(call, project);
    if (!isSystemAdmin(call.caller) && !(call.caller.kind === 'user' && role === 'project-admin'))
      await this.context.deny(
        call,
        "only system admins and the project's project-admins change immutability rules",
      );
    return found.name;
  }
}

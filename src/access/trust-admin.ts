import type { TrustRuleRecord, TrustStore } from '../metadata/trust-store.js';
import { type AdminCall, type AdminContext, adminFailure, type Input } from './admin-context.js';
import type { ProjectAdmin } from './project-admin.js';
import { isValidGlob } from './repository-glob.js';

export type { TrustRuleRecord };

/** Checks a public key PEM and throws when it is not one Berth verifies with (trust/'s reader, given by main/). */
export type PublicKeyCheck = (pem: string) => void;

// A project's rules are read on every pull of a matching repository: a handful, never thousands.
const MAX_RULES_PER_PROJECT = 100;

/**
 * A project's trust policy (issue 14): rules naming a repository glob and the public key whose signature a
 * pull needs. Project admins and system admins add and remove rules, members list them; every change is
 * audited.
 */
export class TrustAdmin {
  constructor(
    private readonly context: AdminContext,
    private readonly projects: ProjectAdmin,
    private readonly store: TrustStore,
    private readonly checkKey: PublicKeyCheck,
  ) {}

  async list(call: AdminCall, name: string): Promise<TrustRuleRecord[]> {
    const project = await this.projects.joined(call, name, 'read its trust policy');
    return this.store.listRules(project.name);
  }

  async add(
    call: AdminCall,
    name: string,
    input: Input<{ repository: string; publicKey: string }>,
  ): Promise<TrustRuleRecord> {
    const project = await this.projects.managed(call, name, 'change its trust policy');
    const { repository, publicKey } = await input();
    if (!isValidGlob(repository))
      throw adminFailure('INVALID', `repository: "${repository}" is not a valid glob`);
    // A rule of one project never reaches into another: the glob is over this project's repositories.
    if (!repository.startsWith(`${project.name}/`))
      throw adminFailure('INVALID', `repository: the glob must start with "${project.name}/"`);
    try {
      this.checkKey(publicKey);
    } catch (error) {
      throw adminFailure('INVALID', `publicKey: ${(error as Error).message}`);
    }
    if ((await this.store.listRules(project.name)).length >= MAX_RULES_PER_PROJECT)
      throw adminFailure(
        'CONFLICT',
        `project ${project.name} has ${MAX_RULES_PER_PROJECT} trust rules already`,
      );
    const rule = await this.store.addRule({
      project: project.name,
      repositoryGlob: repository,
      publicKey,
      createdAt: this.context.clock.now(),
    });
    await this.context.changed(call, 'trust.added', { project: project.name, id: rule.id, repository });
    return rule;
  }

  /** False when the project has no rule of that id. */
  async remove(call: AdminCall, name: string, id: number): Promise<boolean> {
    const project = await this.projects.managed(call, name, 'change its trust policy');
    const removed = await this.store.removeRule(project.name, id);
    if (removed) await this.context.changed(call, 'trust.removed', { project: project.name, id });
    return removed;
  }
}

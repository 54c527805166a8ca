import type { AdmissionPolicyRecord, AdmissionStore } from '../metadata/admission-store.js';

export type { AdmissionPolicyRecord };

import { type AdminCall, type AdminContext, adminFailure, type Input } from './admin-context.js';
import type { ProjectAdmin } from './project-admin.js';

/** Checks a policy's text and throws `POLICY_INVALID` naming what is wrong (policy/'s parser, given by main/). */
export type AdmissionPolicyCheck = (text: string, sourceName: string) => void;

/**
 * A project's admission policy (issue 14): project admins and system admins set and remove it, members read
 * it. Every change goes to the audit log; a policy that does not parse is refused before it is stored.
 */
export class AdmissionAdmin {
  constructor(
    private readonly context: AdminContext,
    private readonly projects: ProjectAdmin,
    private readonly store: AdmissionStore,
    private readonly checkPolicy: AdmissionPolicyCheck,
  ) {}

  async show(call: AdminCall, name: string): Promise<AdmissionPolicyRecord | undefined> {
    const project = await this.projects.joined(call, name, 'read its admission policy');
    return this.store.getPolicy(project.name);
  }

  async set(call: AdminCall, name: string, input: Input<{ policy: string }>): Promise<AdmissionPolicyRecord> {
    const project = await this.projects.managed(call, name, 'set its admission policy');
    const { policy } = await input();
    try {
      this.checkPolicy(policy, `admission policy of project ${project.name}`);
    } catch (error) {
      // The parser's message names the key and the problem: the caller gets it as a 400.
      throw adminFailure('INVALID', (error as Error).message);
    }
    const record: AdmissionPolicyRecord = {
      project: project.name,
      policy,
      updatedAt: this.context.clock.now(),
      updatedBy: call.caller.name,
    };
    await this.store.setPolicy(record);
    await this.context.changed(call, 'admission.set', { project: project.name, bytes: policy.length });
    return record;
  }

  /** False when the project had no policy. */
  async remove(call: AdminCall, name: string): Promise<boolean> {
    const project = await this.projects.managed(call, name, 'remove its admission policy');
    const removed = await this.store.removePolicy(project.name);
    if (removed) await this.context.changed(call, 'admission.removed', { project: project.name });
    return removed;
  }
}

/** A project's admission policy as stored: the YAML text (parsed again where it is applied) and who set it. */
export interface AdmissionPolicyRecord {
  project: string;
  policy: string;
  updatedAt: number;
  updatedBy: string;
}

/** The admission policies of projects, one per project at most (issue 14). */
export interface AdmissionStore {
  getPolicy(project: string): Promise<AdmissionPolicyRecord | undefined>;
  /** Sets or replaces the project's policy. */
  setPolicy(record: AdmissionPolicyRecord): Promise<void>;
  /** False when the project had no policy. */
  removePolicy(project: string): Promise<boolean>;
}

/** One trust rule of a project: pulls from repositories matching the glob need a signature by the key. */
export interface TrustRuleRecord {
  id: number;
  project: string;
  repositoryGlob: string;
  /** The PKIX public key PEM (cosign's `.pub`). */
  publicKey: string;
  createdAt: number;
}

/** Projects' trust policies (issue 14). */
export interface TrustStore {
  listRules(project: string): Promise<TrustRuleRecord[]>;
  addRule(rule: Omit<TrustRuleRecord, 'id'>): Promise<TrustRuleRecord>;
  /** False when the project has no rule of that id. */
  removeRule(project: string, id: number): Promise<boolean>;
}

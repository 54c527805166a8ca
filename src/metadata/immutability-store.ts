/** One tag immutability rule of a project: which repositories (a glob within the project) and tags it covers. */
export interface ImmutabilityRuleRecord {
  id: number;
  project: string;
  /** A repository glob (`access/repository-glob.ts`) matched against the path below the project. */
  repository: string;
  /** A tag pattern: `*` any run of characters, `?` one character. */
  tag: string;
  /** `include` makes the tags it matches immutable; `exclude` carves tags out of the include rules. */
  kind: 'include' | 'exclude';
  createdAt: number;
}

export type NewImmutabilityRule = Omit<ImmutabilityRuleRecord, 'id'>;

/** The tag immutability rules, per project. */
export interface ImmutabilityStore {
  listRules(project: string): Promise<ImmutabilityRuleRecord[]>;
  addRule(rule: NewImmutabilityRule): Promise<ImmutabilityRuleRecord>;
  /** False when the project has no rule with that id. */
  removeRule(project: string, id: number): Promise<boolean>;
  countRules(project: string): Promise<number>;
}

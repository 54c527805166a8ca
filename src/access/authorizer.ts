import {
  ACTIONS,
  type Action,
  type Policy,
  PROJECT_ROLE_ACTIONS,
  type Principal,
  type ProjectRole,
} from './principal.js';
import { globMatches } from './repository-glob.js';

/** What the database knows that bears on one principal and one repository. */
export interface AccessFacts {
  /** The repository's project, when it exists as a project. */
  project?: { name: string; public: boolean } | undefined;
  /** The principal's role in that project, when a member. */
  memberRole?: ProjectRole | undefined;
  /** Policies of the policy roles bound to the principal. */
  rolePolicies: Policy[];
}

/**
 * The actions a principal may take on a repository. Pure: default deny, then every grant that applies is
 * added. System admins may do everything; anyone may pull from a public project.
 */
export function allowedActions(principal: Principal, repository: string, facts: AccessFacts): Set<Action> {
  const allowed = new Set<Action>();
  if (principal.kind === 'user' && principal.admin) return new Set(ACTIONS);
  if (facts.project?.public) allowed.add('pull');
  if (principal.kind === 'anonymous') return allowed;
  if (facts.memberRole) for (const action of PROJECT_ROLE_ACTIONS[facts.memberRole]) allowed.add(action);
  const policies =
    principal.kind === 'robot' ? [...principal.permissions, ...facts.rolePolicies] : facts.rolePolicies;
  for (const policy of policies) {
    if (globMatches(policy.repo, repository)) for (const action of policy.actions) allowed.add(action);
  }
  return allowed;
}

/** What a repository permission allows. */
export type Action = 'pull' | 'push' | 'delete';
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

export function isAction(value: string): value is Action {
  return value === 'pull' || value === 'push' || value === 'delete';
}

/** A grant over repositories: a glob (`team/*`, `team/**`, `*`) and the actions it allows. */
export interface Policy {
  repo: string;
  actions: Action[];
}

/** Roles a user or robot can hold in one project, as Harbor users know them. */
export type ProjectRole = 'guest' | 'developer' | 'maintainer' | 'project-admin';
export const PROJECT_ROLES: readonly ProjectRole[] = ['guest', 'developer', 'maintainer', 'project-admin'];

export const PROJECT_ROLE_ACTIONS: Record<ProjectRole, readonly Action[]> = {
  guest: ['pull'],
  developer: ['pull', 'push'],
  maintainer: ['pull', 'push', 'delete'],
  'project-admin': ['pull', 'push', 'delete'],
};

export type SubjectKind = 'user' | 'robot';

/** Who is asking. Robots carry their own permissions; users get theirs from projects and roles. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; name: string; admin: boolean }
  | { kind: 'robot'; name: string; permissions: Policy[] };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function principalName(principal: Principal): string {
  return principal.kind === 'anonymous' ? 'anonymous' : principal.name;
}

/** Robot accounts are named `robot$NAME`, so they can never be mistaken for a user. */
export const ROBOT_PREFIX = 'robot$';

export function isRobotName(name: string): boolean {
  return name.startsWith(ROBOT_PREFIX);
}

/** A repository's project: its first path segment. */
export function projectOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

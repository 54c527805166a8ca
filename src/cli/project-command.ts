import type { Command } from 'commander';
import { segment } from '../client/admin-address.js';
import { BerthError } from '../oci/errors.js';
import {
  type AdminFlags,
  addAdminOptions,
  parseSubjectKind,
  print,
  withAdminFlags,
} from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface ProjectJson {
  name: string;
  public: boolean;
  createdAt: string;
  role?: string;
}

interface MemberJson {
  project: string;
  kind: string;
  subject: string;
  role: string;
}

const ROLES = ['guest', 'developer', 'maintainer', 'project-admin'];

function memberPath(project: string, kind: string, name: string): string {
  const subjectKind = parseSubjectKind(kind);
  const subject = subjectKind === 'robot' && !name.startsWith('robot$') ? `robot$${name}` : name;
  return `projects/${segment(project)}/members/${subjectKind}/${segment(subject)}`;
}

/** `berth project add|list|rm|set|member`: projects (a repository's first path segment) and their members. */
export function registerProjectCommand(program: Command): void {
  const project = program
    .command('project')
    .description("manage projects and their members (system admins; a project's project-admins for members)")
    .addHelpText(
      'after',
      `
Examples:
  $ berth project add team
  $ berth project member add team user alice developer
  $ berth project set team --public`,
    );

  const add = project
    .command('add')
    .argument('<name>', 'a repository path segment, such as "team" for team/app')
    .description('create a project')
    .option('--public', 'anyone may pull from it, without logging in')
    .addHelpText('after', '\nExample:\n  $ berth project add base-images --public');
  onAction(addAdminOptions(add), async (name: string, flags: AdminFlags & { public?: boolean }) => {
    return withAdminFlags(flags, async (client) => {
      const created = await client.request<ProjectJson>('POST', 'projects', {
        name,
        public: flags.public ?? false,
      });
      print(flags, created, (p) => `Project ${p.name} created (${p.public ? 'public' : 'private'})\n`);
    });
  });

  const list = project
    .command('list')
    .description('list the projects you can see')
    .addHelpText('after', '\nExample:\n  $ berth project list');
  onAction(addAdminOptions(list), async (flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ projects: ProjectJson[] }>('GET', 'projects');
      print(flags, answer, (a) =>
        formatTable(
          ['NAME', 'VISIBILITY', 'YOUR ROLE', 'CREATED'],
          a.projects.map((p) => [p.name, p.public ? 'public' : 'private', p.role ?? '-', p.createdAt]),
        ),
      );
    });
  });

  const rm = project
    .command('rm')
    .argument('<name>', 'the project')
    .description(
      'delete a project and its memberships (its repositories stay, reachable by admins and roles)',
    )
    .addHelpText('after', '\nExample:\n  $ berth project rm old-team');
  onAction(addAdminOptions(rm), async (name: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      await client.request('DELETE', `projects/${segment(name)}`);
      print(flags, { project: name, deleted: true }, () => `Project ${name} deleted\n`);
    });
  });

  const set = project
    .command('set')
    .argument('<name>', 'the project')
    .description('make a project public or private')
    .option('--public', 'anyone may pull')
    .option('--private', 'members and roles only')
    .addHelpText('after', '\nExample:\n  $ berth project set team --private');
  onAction(
    addAdminOptions(set),
    async (name: string, flags: AdminFlags & { public?: boolean; private?: boolean }) => {
      if (flags.public === flags.private) throw new BerthError('USAGE', 'give one of --public and --private');
      return withAdminFlags(flags, async (client) => {
        const changed = await client.request<ProjectJson>('PATCH', `projects/${segment(name)}`, {
          public: flags.public === true,
        });
        print(flags, changed, (p) => `Project ${p.name} is ${p.public ? 'public' : 'private'}\n`);
      });
    },
  );

  const member = project
    .command('member')
    .description(`manage a project's members: roles ${ROLES.join(', ')}`)
    .addHelpText(
      'after',
      `
Examples:
  $ berth project member add team user alice maintainer
  $ berth project member add team robot ci developer
  $ berth project member list team`,
    );

  const memberAdd = member
    .command('add')
    .argument('<project>', 'the project')
    .argument('<kind>', 'user or robot')
    .argument('<name>', 'the user, or the robot (NAME or robot$NAME)')
    .argument('<role>', ROLES.join(' | '))
    .description('add a member, or change their role')
    .addHelpText('after', '\nExample:\n  $ berth project member add team user alice developer');
  onAction(
    addAdminOptions(memberAdd),
    async (projectName: string, kind: string, name: string, role: string, flags: AdminFlags) => {
      if (!ROLES.includes(role))
        throw new BerthError('USAGE', `role: expected one of ${ROLES.join(', ')}, got "${role}"`);
      const path = memberPath(projectName, kind, name);
      return withAdminFlags(flags, async (client) => {
        const set = await client.request<MemberJson>('PUT', path, { role });
        print(flags, set, (m) => `${m.kind} ${m.subject} is ${m.role} in ${m.project}\n`);
      });
    },
  );

  const memberRm = member
    .command('rm')
    .argument('<project>', 'the project')
    .argument('<kind>', 'user or robot')
    .argument('<name>', 'the user or robot')
    .description('remove a member')
    .addHelpText('after', '\nExample:\n  $ berth project member rm team user alice');
  onAction(
    addAdminOptions(memberRm),
    async (projectName: string, kind: string, name: string, flags: AdminFlags) => {
      const path = memberPath(projectName, kind, name);
      return withAdminFlags(flags, async (client) => {
        await client.request('DELETE', path);
        print(
          flags,
          { project: projectName, kind, subject: name, removed: true },
          () => `${kind} ${name} removed from ${projectName}\n`,
        );
      });
    },
  );

  const memberList = member
    .command('list')
    .argument('<project>', 'the project')
    .description("list a project's members")
    .addHelpText('after', '\nExample:\n  $ berth project member list team --json');
  onAction(addAdminOptions(memberList), async (projectName: string, flags: AdminFlags) => {
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ members: MemberJson[] }>(
        'GET',
        `projects/${segment(projectName)}/members`,
      );
      print(flags, answer, (a) =>
        formatTable(
          ['KIND', 'NAME', 'ROLE'],
          a.members.map((m) => [m.kind, m.subject, m.role]),
        ),
      );
    });
  });
}

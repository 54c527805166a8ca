import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface AuditEventJson {
  id: number;
  at: string;
  actor: string;
  actorKind: string;
  event: string;
  repository?: string;
  action?: string;
  source?: string;
  detail?: Record<string, unknown>;
}

interface AuditFlags extends AdminFlags {
  limit: string;
  actor?: string;
  before?: string;
}

function positiveInteger(raw: string, option: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new BerthError('USAGE', `${option}: expected a positive integer`);
  return Number(raw);
}

/** What happened, in a few words: repository and action when there are, then the detail's fields. */
function whatText(e: AuditEventJson): string {
  const parts: string[] = [];
  if (e.repository) parts.push(`${e.repository}${e.action ? ` ${e.action}` : ''}`);
  for (const [key, value] of Object.entries(e.detail ?? {}))
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return parts.join(' ');
}

/** `berth audit`: the audit log of a Berth server, newest first. */
export function registerAuditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .description('show the audit log: logins, refusals and every change to users, robots, projects and roles')
    .option('--limit <n>', 'how many events (at most 1000)', '100')
    .option('--actor <name>', 'only events of this user or robot')
    .option('--before <id>', 'only events older than this id (to page back)')
    .addHelpText(
      'after',
      `
Examples:
  $ berth audit --limit 20
  $ berth audit --actor 'robot$ci' --json`,
    );
  onAction(addAdminOptions(audit), async (flags: AuditFlags) => {
    const query = new URLSearchParams({ limit: String(positiveInteger(flags.limit, '--limit')) });
    if (flags.actor) query.set('actor', flags.actor);
    if (flags.before) query.set('before', String(positiveInteger(flags.before, '--before')));
    return withAdminFlags(flags, async (client) => {
      const answer = await client.request<{ events: AuditEventJson[]; next?: number }>(
        'GET',
        `audit?${query.toString()}`,
      );
      print(flags, answer, (a) => {
        let text = formatTable(
          ['ID', 'TIME', 'ACTOR', 'EVENT', 'SOURCE', 'WHAT'],
          a.events.map((e) => [String(e.id), e.at, e.actor, e.event, e.source ?? '-', whatText(e)]),
        );
        if (a.next !== undefined) text += `(older events: --before ${a.next})\n`;
        return text;
      });
    });
  });
}

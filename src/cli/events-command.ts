import type { Command } from 'commander';
import type { EventJson } from '../client/event-log.js';
import { type AdminFlags, addAdminOptions, collect, withAdminFlags } from './admin-options.js';
import { onAction } from './exit-status.js';

interface EventsFlags extends AdminFlags {
  follow?: boolean;
  filter?: string[];
  since?: string;
}

/** One line per event: time, type, repository, then tag or digest and who did it. */
function eventLine(e: EventJson): string {
  const what = e.tag ? `${e.repository ?? '-'}:${e.tag}` : (e.repository ?? '-');
  const parts = [e.at, e.type.padEnd(8), what];
  if (e.digest) parts.push(e.digest);
  if (e.actor) parts.push(`by ${e.actor}`);
  return `${parts.join(' ')}\n`;
}

/** `berth events`: the server's durable events, oldest first; `--follow` keeps printing new ones. */
export function registerEventsCommand(program: Command): void {
  const events = program
    .command('events')
    .description('show registry events (push, pull, delete, tag, mount), oldest first; --follow for new ones')
    .option('-f, --follow', 'keep printing events as they happen')
    .option('--filter <key=value>', 'event=push (or several: event=push,delete), repository=team/*', collect)
    .option('--since <when>', 'only events since a duration ago (90s, 15m, 1h, 7d) or an ISO 8601 time')
    .addHelpText(
      'after',
      `
Examples:
  $ berth events --since 1h
  $ berth events --follow --filter event=push --filter 'repository=team/*'
  $ berth events --json --since 2026-06-01T00:00:00Z`,
    );
  onAction(addAdminOptions(events), async (flags: EventsFlags) => {
    const { parseFilters, parseSince, listEvents, followEvents } = await import('../client/event-log.js');
    const filter = {
      ...parseFilters(flags.filter ?? []),
      // The time a --since duration counts back from is the user's own now.
      since: flags.since !== undefined ? parseSince(flags.since, Date.now()) : undefined,
    };
    // --json: one JSON object per line, so that a follower can be piped into jq as events come.
    const write = (e: EventJson): void => {
      process.stdout.write(flags.json ? `${JSON.stringify(e)}\n` : eventLine(e));
    };
    return withAdminFlags(flags, async (api) => {
      // History first (all of it without --since when not following; from now when following without it).
      const last =
        !flags.follow || filter.since !== undefined ? await listEvents(api, filter, write) : undefined;
      if (flags.follow) await followEvents(api, filter, last, write);
    });
  });
}

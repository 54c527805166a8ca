import { BerthError } from '../oci/errors.js';
import type { AdminApi } from './admin-api.js';

/** An event as `/api/v1/events` returns it. */
export interface EventJson {
  id: number;
  type: string;
  at: string;
  repository?: string;
  project?: string;
  digest?: string;
  tag?: string;
  actor?: string;
  payload?: Record<string, unknown>;
}

export interface EventFilter {
  types: string[];
  /** A repository glob (`team/*`). */
  repository?: string | undefined;
  /** Milliseconds since the epoch. */
  since?: number | undefined;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from `now` (`90s`, `15m`, `1h`, `7d`, `2w`) or an ISO 8601 time. */
export function parseSince(raw: string, now: number): number {
  const duration = /^(\d{1,9})([smhdw])$/.exec(raw);
  if (duration) return now - Number(duration[1]) * (UNITS[duration[2] as string] as number);
  const time = Date.parse(raw);
  if (/^\d{4}-\d{2}-\d{2}/.test(raw) && Number.isFinite(time)) return time;
  throw new BerthError('USAGE', `--since ${raw}: expected a duration such as 1h or 7d, or an ISO 8601 time`);
}

/** `--filter event=push`, `--filter repository=team/*`: repeatable; several events mean any of them. */
export function parseFilters(raw: string[]): Omit<EventFilter, 'since'> {
  const filter: Omit<EventFilter, 'since'> = { types: [] };
  for (const item of raw) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    if (!value)
      throw new BerthError('USAGE', `--filter ${item}: expected KEY=VALUE (event=push, repository=team/*)`);
    if (key === 'event' || key === 'type') filter.types.push(...value.split(','));
    else if (key === 'repository' || key === 'repo') {
      if (filter.repository !== undefined) throw new BerthError('USAGE', '--filter repository: give it once');
      filter.repository = value;
    } else throw new BerthError('USAGE', `--filter ${item}: unknown key ${key} (event, repository)`);
  }
  return filter;
}

function query(filter: EventFilter, extra: Record<string, string>): string {
  const params = new URLSearchParams(extra);
  if (filter.types.length > 0) params.set('type', filter.types.join(','));
  if (filter.repository !== undefined) params.set('repository', filter.repository);
  if (filter.since !== undefined) params.set('since', new Date(filter.since).toISOString());
  return params.toString();
}

/** Every event that passes the filter, oldest first, page by page; returns the last id the server looked at. */
export async function listEvents(
  api: AdminApi,
  filter: EventFilter,
  onEvent: (event: EventJson) => void,
): Promise<number | undefined> {
  let after: number | undefined;
  for (;;) {
    const page = await api.request<{ events: EventJson[]; next?: number; last?: number }>(
      'GET',
      `events?${query(filter, { limit: '1000', ...(after !== undefined ? { after: String(after) } : {}) })}`,
    );
    for (const event of page.events) onEvent(event);
    if (page.last !== undefined) after = page.last;
    if (page.next === undefined) return after;
    after = page.next;
  }
}

/** Follows the server's event stream from after `after` (from now when undefined) until the stream ends. */
export async function followEvents(
  api: AdminApi,
  filter: EventFilter,
  after: number | undefined,
  onEvent: (event: EventJson) => void,
): Promise<void> {
  const body = await api.stream(
    `events/stream?${query({ ...filter, since: undefined }, after !== undefined ? { after: String(after) } : {})}`,
  );
  let buffered = '';
  for await (const chunk of body) {
    buffered += chunk.toString('utf8');
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      if (data) onEvent(JSON.parse(data) as EventJson);
      end = buffered.indexOf('\n\n');
    }
  }
}

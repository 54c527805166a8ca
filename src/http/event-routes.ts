import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { globMatches, isValidGlob } from '../access/repository-glob.js';
import {
  EVENT_TYPES,
  type EventQuery,
  type EventRecord,
  type EventStore,
  type EventType,
} from '../events/event-log.js';
import { isoTime, parseInput } from './admin-request.js';

/** Decides, per request, which events the caller may see: by repository (null: events of no repository). */
export type EventVisibility = (
  request: FastifyRequest,
) => Promise<(repository: string | null) => Promise<boolean>>;

// Rows read per query while filtering by glob and access, and at most this many queries per page: a page
// may come back short (with `next`), never after an unbounded scan.
const SCAN_BATCH = 500;
const SCAN_BATCHES = 10;
// A follower is told of new events this often; a comment keeps proxies from closing a quiet stream.
const FOLLOW_POLL_MS = 250;
const KEEP_ALIVE_MS = 15_000;

const typeList = z
  .string()
  .max(200)
  .transform((value) => value.split(',').filter(Boolean))
  .pipe(z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length));

/** An ISO time or milliseconds since the epoch. */
const time = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'an ISO 8601 time or milliseconds since the epoch' });
      return z.NEVER;
    }
    return ms;
  });

const querySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  type: typeList.optional(),
  repository: z
    .string()
    .refine(isValidGlob, 'a repository glob: lower-case repository characters, "/" and "*"')
    .optional(),
  since: time.optional(),
});

type EventFilter = z.infer<typeof querySchema>;

export function eventJson(event: EventRecord) {
  return {
    id: event.id,
    type: event.type,
    at: isoTime(event.at),
    ...(event.repository !== null ? { repository: event.repository } : {}),
    ...(event.project !== null ? { project: event.project } : {}),
    ...(event.digest !== null ? { digest: event.digest } : {}),
    ...(event.tag !== null ? { tag: event.tag } : {}),
    ...(event.actor !== null ? { actor: event.actor } : {}),
    ...(event.payload !== null ? { payload: event.payload } : {}),
  };
}

/** Events after `after` that pass the filter and the caller's access; `next` is the last id looked at. */
async function readPage(
  store: EventStore,
  filter: EventFilter,
  visible: (repository: string | null) => Promise<boolean>,
  after: number | undefined,
  limit: number,
): Promise<{ events: EventRecord[]; next: number | undefined; exhausted: boolean }> {
  const events: EventRecord[] = [];
  let cursor = after;
  for (let batch = 0; batch < SCAN_BATCHES && events.length < limit; batch++) {
    const query: EventQuery = { afterId: cursor, since: filter.since, limit: SCAN_BATCH };
    if (filter.type) query.types = filter.type as EventType[];
    const rows = await store.list(query);
    for (const row of rows) {
      cursor = row.id;
      if (
        filter.repository !== undefined &&
        (row.repository === null || !globMatches(filter.repository, row.repository))
      )
        continue;
      if (!(await visible(row.repository))) continue;
      events.push(row);
      if (events.length >= limit) break;
    }
    if (rows.length < SCAN_BATCH && events.length < limit) return { events, next: cursor, exhausted: true };
  }
  return { events, next: cursor, exhausted: false };
}

/**
 * `GET /api/v1/events` (keyset pages by id: `after`, `limit`; filters `type`, `repository` glob, `since`) and
 * `GET /api/v1/events/stream` (server-sent events, from `after` or `Last-Event-ID`, else from now). A
 * caller sees the events of repositories it may pull; events of no repository (login failures) only admins.
 */
export function registerEventRoutes(
  api: FastifyInstance,
  store: EventStore,
  visibility: EventVisibility,
): void {
  api.get('/events', async (request) => {
    const filter = parseInput(querySchema, request.query, 'query');
    const visible = await visibility(request);
    const page = await readPage(store, filter, visible, filter.after, filter.limit);
    // `next` whenever more may follow: a short page after a bounded scan is not the end.
    return {
      events: page.events.map(eventJson),
      ...(page.next !== undefined && !(page.exhausted && page.events.length < filter.limit)
        ? { next: page.next }
        : {}),
      ...(page.next !== undefined ? { last: page.next } : {}),
    };
  });

  // Streams end when the server closes, so that a follower cannot hold it open.
  const streams = new Set<() => void>();
  api.addHook('preClose', async () => {
    for (const stop of streams) stop();
  });

  api.get('/events/stream', async (request, reply) => {
    const filter = parseInput(querySchema, request.query, 'query');
    const visible = await visibility(request);
    const lastEventId = request.headers['last-event-id'];
    let cursor =
      filter.after ??
      (typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined) ??
      (await store.lastId());
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Request-Id': String(request.id),
    });
    out.write(': following\n\n');
    let open = true;
    let quietSince = Date.now();
    const stop = (): void => {
      open = false;
    };
    request.raw.once('close', stop);
    out.once('close', stop);
    streams.add(stop);
    while (open) {
      try {
        const page = await readPage(store, filter, visible, cursor, 100);
        for (const event of page.events) {
          out.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(eventJson(event))}\n\n`);
        }
        if (page.next !== undefined) cursor = page.next;
        if (page.events.length > 0) quietSince = Date.now();
        else if (Date.now() - quietSince > KEEP_ALIVE_MS) {
          out.write(': keep-alive\n\n');
          quietSince = Date.now();
        }
        if (!page.exhausted) continue;
      } catch (error) {
        request.log.warn({ err: error }, 'event stream read failed');
      }
      if (open) await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
    streams.delete(stop);
    out.end();
  });
}

/** With `auth: none` every caller may pull everything: every event is visible. */
export const EVERY_EVENT: EventVisibility = async () => async () => true;

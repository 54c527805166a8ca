/**
 * The events' vocabulary as the HTTP layer and jobs see it. The rows live in `metadata/` (they are written in
 * the registry's transactions, which only the metadata store has); this is the door to them from above.
 */
export {
  EVENT_TYPES,
  type EventQuery,
  type EventRecord,
  type EventStore,
  type EventType,
  isEventType,
  type NewEvent,
} from '../metadata/event-store.js';

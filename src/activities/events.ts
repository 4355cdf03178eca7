/**
 * Publishes a message's state changes to the event log (run as a local activity: cheap, and its
 * completion is recorded in history, so a replay never publishes twice). The log is idempotent per
 * (message, seq) for the rare re-run after a worker crash.
 */
import type { NewMessageEvent } from '../contract/message-event';
import type { EventLog } from '../store/event-log';

export function createEventActivities({ events }: { events: EventLog }) {
  return {
    /** Appends one state change to the event log. */
    async publishEvent(event: NewMessageEvent): Promise<void> {
      await events.append(event);
    },
  };
}

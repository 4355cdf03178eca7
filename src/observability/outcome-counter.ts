/**
 * herald_messages_terminal_total: messages reaching an outcome, counted where the event log records the
 * outcome as new. The worker records almost every end (its activities, the close-out watcher, the
 * sweeper); an API process records the end of a run it finds closed and unrecorded when it reads a
 * status. Each process counts what it recorded, the log keeps one copy, so the sum over every process
 * of a fleet (`sum(rate(herald_messages_terminal_total[5m]))`) counts each message once.
 */
import { Counter, type Registry } from 'prom-client';
import type { EventLog, NewMessageEvent } from '../store/event-log';

/** States that settle a message's outcome. */
const OUTCOME_STATES: ReadonlySet<string> = new Set([
  'delivered',
  'replied',
  'dead_lettered',
  'cancelled',
  'rejected',
  'discarded',
]);

export type OutcomeCounter = (event: Pick<NewMessageEvent, 'state' | 'destination'>) => void;

export function createOutcomeCounter(
  registry: Registry,
  destination: (host: string | null | undefined) => string,
): OutcomeCounter {
  const terminal = new Counter({
    name: 'herald_messages_terminal_total',
    help: 'Messages reaching an outcome (delivered, replied, dead_lettered, cancelled, rejected, discarded) by destination host, counted by the process that recorded it.',
    labelNames: ['state', 'destination'] as const,
    registers: [registry],
  });
  return (event) => {
    if (OUTCOME_STATES.has(event.state))
      terminal.inc({ state: event.state, destination: destination(event.destination) });
  };
}

/**
 * The event log, counting each outcome it takes as new: an append repeated (an activity run twice, the
 * watcher and the sweeper recording the same end) is idempotent and counts once.
 */
export function countingOutcomes(events: EventLog, count: OutcomeCounter): EventLog {
  return {
    append: async (event) => {
      const result = await events.append(event);
      if (result.appended) count(event);
      return result;
    },
    read: (query) => events.read(query),
    latest: (messageId) => events.latest(messageId),
    lastId: () => events.lastId(),
    countByMinute: (query) => events.countByMinute(query),
    prune: (olderThan, batchSize) => events.prune(olderThan, batchSize),
    watch: (listener) => events.watch(listener),
    close: () => events.close(),
  };
}

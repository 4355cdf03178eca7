/**
 * Publishes a message's state changes to the event log.
 *
 * `publishEvents` is a regular activity: Temporal schedules it only once the workflow task that made the
 * changes has committed, so the log holds only states the workflow's history entered. It takes a batch
 * (every change queued while the previous publish was in flight), to keep history short.
 * `publishEvent`, a local activity, is what runs started before that patch still call: a local activity
 * runs before its workflow task commits, so a task that never commits could leave its event behind.
 *
 * Either way the log is idempotent per (message, run, seq) for a re-run, and refuses a different state
 * under a known seq: that refusal is logged and failed as non-retryable, since retrying cannot fix it.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { NewMessageEvent } from '../contract/message-event';
import { EventSeqConflictError, type EventLog } from '../store/event-log';

export interface EventDependencies {
  events: EventLog;
  /** Where a refused event is reported; silent when absent. */
  logger?: Logger;
}

/**
 * Appends each event in order. A conflict is logged and does not stop the rest; the conflicts come back
 * once all are in. Any other error (the log is down) stops the batch and is thrown.
 */
export async function appendInOrder(
  events: EventLog,
  batch: NewMessageEvent[],
  logger?: Logger,
): Promise<EventSeqConflictError[]> {
  const refused: EventSeqConflictError[] = [];
  for (const event of batch) {
    try {
      await events.append(event);
    } catch (error) {
      if (!(error instanceof EventSeqConflictError)) throw error;
      logger?.error(
        {
          messageId: event.messageId,
          runId: event.runId,
          seq: event.seq,
          state: event.state,
          logged: error.loggedState,
        },
        'event refused: another state is logged under its seq',
      );
      refused.push(error);
    }
  }
  return refused;
}

export function createEventActivities({ events, logger }: EventDependencies) {
  /** Appends each event in order; a conflict does not stop the rest, and fails the call once all are in. */
  async function appendAll(batch: NewMessageEvent[]): Promise<void> {
    const refused = await appendInOrder(events, batch, logger);
    if (refused.length > 0) {
      throw ApplicationFailure.create({
        type: refused[0]!.name,
        message: refused.map((error) => error.message).join('; '),
        nonRetryable: true,
      });
    }
  }

  return {
    /** Appends one state change to the event log (local activity of runs from before committed events). */
    async publishEvent(event: NewMessageEvent): Promise<void> {
      await appendAll([event]);
    },

    /** Appends the state changes of committed workflow tasks to the event log, in order. */
    async publishEvents(batch: NewMessageEvent[]): Promise<void> {
      await appendAll(batch);
    },
  };
}

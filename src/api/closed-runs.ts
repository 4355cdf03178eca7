/**
 * Messages whose run has closed, in the API's views. A run Temporal terminated or timed out takes that
 * state from the execution (the workflow could not report it), and the event log is told, so the
 * per-message stream, `/v1/events` and `Last-Event-ID` see that end like any other event. A completed
 * run whose log does not end on its outcome (an event refused as a conflict, or lost by a run from
 * before events were published after commit) is closed out in the log the same way.
 */
import type { Client } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import { destinationHost } from '../contract/message';
import { isTerminal, type MessageState, type MessageStatus } from '../contract/message-status';
import { EventSeqConflictError, type EventLog, type MessageEvent } from '../store/event-log';
import { closedRunState, readClosedRun } from '../temporal/closed-run';
import { messageInput } from '../temporal/message-operations';

/** How often an idle per-message stream asks Temporal whether the run was closed under it. */
const CLOSED_RUN_CHECK_MS = 2_000;
/** Attempts to append the closing event when another writer takes its number meanwhile. */
const CLOSE_OUT_ATTEMPTS = 3;

/**
 * The status as it stands once Temporal terminated or timed out its run: that state, from the execution.
 * A status already at an outcome is kept (the message had ended; a parked dead letter stays redrivable
 * from its record).
 */
export async function withClosedRunState<S extends MessageStatus>(client: Client, status: S): Promise<S> {
  if (isTerminal(status.state)) return status;
  // Without an answer from Temporal the status stays as the workflow (or visibility) gave it.
  const closed = await readClosedRun(client, status.id).catch(() => undefined);
  const state = closedRunState(closed?.executionStatus);
  if (!closed || !state) return status;
  return { ...status, state, nextAttemptAt: null, updatedAt: closed.closedAt };
}

export interface ClosedRunDeps {
  client: Client;
  events: EventLog;
  /** The status the API serves (so the log's last word is the status's). */
  readStatus: (id: string) => Promise<MessageStatus>;
}

/**
 * Appends the closing event of message `id`'s latest run when the run has closed and the log does not
 * end it on an outcome yet: the state is the one the status reports. Returns the run's final event
 * when the log has one, else undefined.
 */
export async function recordClosedRun(deps: ClosedRunDeps, id: string): Promise<MessageEvent | undefined> {
  const closed = await readClosedRun(deps.client, id);
  if (!closed) return undefined;
  for (let attempt = 1; ; attempt++) {
    const logged = await deps.events.read({ afterId: 0, messageId: id, limit: 10_000 });
    const ofRun = logged.filter((event) => event.runId === closed.runId);
    const last = ofRun[ofRun.length - 1];
    if (last && isTerminal(last.state as MessageState)) return last;
    // A completed run that never published (from before the event log) has nothing to close out.
    if (!last && !closedRunState(closed.executionStatus)) return undefined;
    const { state } = await deps.readStatus(id);
    if (!isTerminal(state)) return undefined;
    const known = logged[logged.length - 1] ?? (await describedBy(deps.client, id));
    try {
      await deps.events.append({
        messageId: id,
        runId: closed.runId,
        seq: (last?.seq ?? 0) + 1,
        state,
        destination: known.destination,
        sender: known.sender,
        at: closed.closedAt,
      });
      return await deps.events.latest(id);
    } catch (error) {
      // A publish that was still in flight took the number: read again and follow it.
      if (!(error instanceof EventSeqConflictError) || attempt >= CLOSE_OUT_ATTEMPTS) throw error;
    }
  }
}

/** Destination and sender from the start input, for a run that never published an event. */
async function describedBy(client: Client, id: string): Promise<Pick<MessageEvent, 'destination' | 'sender'>> {
  const message = await messageInput(client, id).catch(() => undefined);
  const url = message?.destination?.url;
  return { destination: typeof url === 'string' ? destinationHost(url) : '', sender: message?.sender ?? null };
}

/** recordClosedRun for a stream: a failure (Temporal or the log unreachable for a moment) is logged, not thrown. */
export async function tryRecordClosedRun(
  deps: ClosedRunDeps,
  id: string,
  log: FastifyBaseLogger,
): Promise<MessageEvent | undefined> {
  try {
    return await recordClosedRun(deps, id);
  } catch (error) {
    log.warn({ err: error, messageId: id }, 'could not check whether the run was closed');
    return undefined;
  }
}

/**
 * The event log as one message's stream reads it: when no event comes, it asks Temporal now and then
 * whether the run was closed under it, and records the closing event, which the stream then reads.
 */
export function closingRunsOf(deps: ClosedRunDeps, id: string, log: FastifyBaseLogger): EventLog {
  const { events } = deps;
  let nextCheck = Date.now() + CLOSED_RUN_CHECK_MS;
  return {
    append: (event) => events.append(event),
    latest: (messageId) => events.latest(messageId),
    lastId: () => events.lastId(),
    // The log belongs to the app, which closes it.
    close: async () => undefined,
    async read(query) {
      const batch = await events.read(query);
      if (batch.length > 0 || Date.now() < nextCheck) return batch;
      nextCheck = Date.now() + CLOSED_RUN_CHECK_MS;
      // Nothing closed (or no answer yet: asked again later), or the closing event to read now.
      return (await tryRecordClosedRun(deps, id, log)) ? events.read(query) : batch;
    },
  };
}

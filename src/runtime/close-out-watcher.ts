/**
 * Records the last event of the lean runs this worker closes (see workflows/side-effects): the
 * workflow nudges it through a sink as it ends, and it waits for Temporal's close event (one
 * long-poll per run, usually answered within milliseconds) and appends the state the committed result
 * holds. The close, not the nudge, is what it trusts: the task that sent the nudge may never commit (a
 * crash, a signal that came in meanwhile), and then the run goes on or ends another way.
 *
 * Cheaper than publishing the event from the workflow, which costs an activity (three history events
 * and a workflow task) per message. If this worker dies between the close and the append, the ended-run
 * sweeper records it from visibility instead, seconds later.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { isTerminal, type MessageStatus } from '../contract/message-status';
import { recordEndedRun } from '../store/ended-run-events';
import type { EventLog } from '../store/event-log';

/** How long a close is waited for: past it, the run is still going (its task did not commit), and the sweeper or a later nudge covers it. */
export const CLOSE_WAIT_MS = 60_000;

export interface CloseOutWatcher {
  /** Waits for the run to close, then records its last event (idempotent; one wait per run). */
  watch(messageId: string, runId: string, sender: string | null): void;
  /** Stops waiting for closes (the sweeper covers what is left) and waits for appends in progress. */
  stop(): Promise<void>;
}

export interface CloseOutWatcherOptions {
  client: Client;
  events: EventLog;
  logger: Logger;
  closeWaitMs?: number;
}

export function createCloseOutWatcher(options: CloseOutWatcherOptions): CloseOutWatcher {
  const { client, events, logger } = options;
  const closeWaitMs = options.closeWaitMs ?? CLOSE_WAIT_MS;
  const stopping = new AbortController();
  const watching = new Set<string>();
  const appending = new Set<Promise<unknown>>();

  /** The run's result once it closed; undefined when the wait ends first (stopped, timed out). */
  async function closedResult(messageId: string, runId: string): Promise<MessageStatus | undefined> {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(closeWaitMs)]);
    const handle = client.workflow.getHandle(messageId, runId, { followRuns: false });
    // The race, and not only the signal, ends the wait: a stop must not sit out a long-poll.
    const ended = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
    const result = client.withAbortSignal(signal, () => handle.result()) as Promise<MessageStatus>;
    result.catch(() => undefined); // a failure after the race is decided goes nowhere
    return Promise.race([result, ended]);
  }

  async function closeOut(messageId: string, runId: string, sender: string | null): Promise<void> {
    let status: MessageStatus | undefined;
    try {
      status = await closedResult(messageId, runId);
    } catch (error) {
      // Terminated, timed out or failed: the sweeper and status reads close those out from the execution.
      if (stopping.signal.aborted || error instanceof WorkflowFailedError) return;
      throw error;
    }
    if (!status || stopping.signal.aborted) return;
    if (!isTerminal(status.state)) return; // not a message run's result: nothing to say
    await track(
      recordEndedRun(events, {
        messageId,
        runId,
        state: status.state,
        closedAt: status.updatedAt,
        destination: status.destination,
        sender,
      }),
    );
  }

  /** Keeps an append in progress for stop() to wait for. */
  function track<T>(append: Promise<T>): Promise<T> {
    appending.add(append);
    return append.finally(() => appending.delete(append));
  }

  return {
    watch(messageId, runId, sender) {
      if (stopping.signal.aborted || watching.has(runId)) return;
      watching.add(runId);
      void closeOut(messageId, runId, sender)
        .catch((error: unknown) =>
          logger.warn({ err: error, messageId, runId }, 'could not record the end of a run; the sweeper will'),
        )
        .finally(() => watching.delete(runId));
    },
    async stop() {
      stopping.abort();
      await Promise.allSettled([...appending]);
    },
  };
}

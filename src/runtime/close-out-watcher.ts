/**
 * Records the last event of the lean runs this worker closes (see workflows/side-effects): the
 * workflow nudges it through a sink as it ends, and it looks the run up in visibility, together with
 * every other run waiting for its close (one list call per CLOSE_OUT_POLL_MS for all of them, however
 * many), and appends the state the closing task set (the `HeraldState` search attribute, written in
 * the same commit as the close). The close, not the nudge, is what it trusts: the task that sent the
 * nudge may never commit (a crash, a signal that came in meanwhile), and then the run goes on or ends
 * another way.
 *
 * Cheaper than publishing the event from the workflow, which costs an activity (three history events
 * and a workflow task) per message, and than a long-poll per run for its close event (measured: about
 * 2 messages/s of 25 on 2 cores, the worker's and the server's work per poll). If this worker dies
 * between the close and the append, the ended-run sweeper records it from visibility instead, seconds later.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { recordEndedRun } from '../store/ended-run-events';
import type { EventLog } from '../store/event-log';
import { listClosedRuns } from '../temporal/ended-runs';

/** How long a close is looked for: past it, the run is still going (its task did not commit), and the sweeper or a later nudge covers it. */
export const CLOSE_WAIT_MS = 60_000;
/**
 * How often the waiting runs are looked up. The terminal event lands this much later at most (plus
 * visibility's own lag, milliseconds on SQL visibility); a busy worker makes this many list calls a
 * second, well inside Temporal's default visibility rate per namespace even for a fleet of a few workers.
 */
export const CLOSE_OUT_POLL_MS = 250;
/** Runs named in one visibility query. */
const CLOSE_OUT_BATCH = 100;
/** The longest pause between lookups after failed ones (Temporal throttling visibility, say). */
const CLOSE_OUT_MAX_BACKOFF_MS = 5_000;

export interface CloseOutWatcher {
  /**
   * Waits for the run to close, then records its last event (idempotent; one wait per run) at `at`, the
   * time the workflow reached that state (Temporal's close time when the nudge has none).
   */
  watch(messageId: string, runId: string, sender: string | null, at?: string): void;
  /** Stops waiting for closes (the sweeper covers what is left) and waits for appends in progress. */
  stop(): Promise<void>;
}

export interface CloseOutWatcherOptions {
  client: Client;
  events: EventLog;
  logger: Logger;
  closeWaitMs?: number;
  pollMs?: number;
}

interface WaitingRun {
  messageId: string;
  sender: string | null;
  at: string | undefined;
  /** When it stops being looked for. */
  until: number;
}

export function createCloseOutWatcher(options: CloseOutWatcherOptions): CloseOutWatcher {
  const { client, events, logger } = options;
  const closeWaitMs = options.closeWaitMs ?? CLOSE_WAIT_MS;
  const pollMs = options.pollMs ?? CLOSE_OUT_POLL_MS;
  const waiting = new Map<string, WaitingRun>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lookup: Promise<void> = Promise.resolve();
  let delayMs = pollMs;
  let failing = false;

  function schedule(): void {
    if (stopped || timer || waiting.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      lookup = lookUpWaiting().finally(schedule);
    }, delayMs);
  }

  /** Looks every waiting run up (in batches), records the closed ones, forgets the ones waited for too long. */
  async function lookUpWaiting(): Promise<void> {
    const now = Date.now();
    for (const [runId, run] of waiting) if (run.until <= now) waiting.delete(runId);
    const runIds = [...waiting.keys()];
    try {
      for (let from = 0; from < runIds.length && !stopped; from += CLOSE_OUT_BATCH) {
        await recordClosed(runIds.slice(from, from + CLOSE_OUT_BATCH));
      }
      if (failing) logger.info('close-out lookups work again');
      failing = false;
      delayMs = pollMs;
    } catch (error) {
      if (!failing)
        logger.warn({ err: error }, 'could not look up closed runs; retrying (the sweeper covers the rest)');
      failing = true;
      delayMs = Math.min(delayMs * 2, CLOSE_OUT_MAX_BACKOFF_MS);
    }
  }

  async function recordClosed(runIds: string[]): Promise<void> {
    for await (const closed of listClosedRuns(client, runIds)) {
      const run = waiting.get(closed.runId);
      if (!run || stopped) continue;
      waiting.delete(closed.runId);
      // A run that failed or was terminated has no lean end to record: the sweeper and status reads close those out.
      if (closed.run) {
        await recordEndedRun(events, { ...closed.run, sender: run.sender, closedAt: run.at ?? closed.run.closedAt });
      }
    }
  }

  return {
    watch(messageId, runId, sender, at) {
      if (stopped) return;
      // A run nudging again (its first closing task did not commit) closes with what the latest one says.
      const until = waiting.get(runId)?.until ?? Date.now() + closeWaitMs;
      waiting.set(runId, { messageId, sender, at, until });
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      waiting.clear();
      await lookup;
    },
  };
}

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
import type { RunEnd } from '../workflows/close-out';

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
/** At stop, the last lookup (for the runs the draining worker closed) gets this long. */
const FINAL_LOOKUP_MS = 2_000;

export interface CloseOutWatcher {
  /**
   * Waits for the run to close, then records its last event (idempotent; one wait per run) with the
   * state the close committed, at the nudge's time when the nudge named that state (Temporal's close
   * time otherwise: the nudge came from a task that did not commit).
   */
  watch(messageId: string, runId: string, end: RunEnd): void;
  /** Looks up the runs still waiting once more, then stops (the sweeper covers what is left). */
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
  end: RunEnd;
  /** When it stops being looked for. */
  until: number;
}

export function createCloseOutWatcher(options: CloseOutWatcherOptions): CloseOutWatcher {
  const { client, events, logger } = options;
  const closeWaitMs = options.closeWaitMs ?? CLOSE_WAIT_MS;
  const pollMs = options.pollMs ?? CLOSE_OUT_POLL_MS;
  const waiting = new Map<string, WaitingRun>();
  /** No more lookups are scheduled (stop() began); `stopped`: none runs any more either. */
  let stopping = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  /** The lookup running now: at most one at a time, the next is scheduled when it ends. */
  let lookup: Promise<void> | undefined;
  let delayMs = pollMs;
  let failing = false;

  function schedule(): void {
    if (stopping || timer || lookup || waiting.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      lookup = lookUpWaiting().finally(() => {
        lookup = undefined;
        schedule();
      });
    }, delayMs);
    // Waiting runs alone must not keep a process alive: the sweeper records what a stopped process left.
    timer.unref();
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
      if (!closed.run) continue;
      const { end } = run;
      const closedAt = end.state === closed.run.state ? end.at : closed.run.closedAt;
      await recordEndedRun(events, { ...closed.run, sender: end.sender, closedAt });
    }
  }

  return {
    watch(_messageId, runId, end) {
      if (stopping) return;
      // A run nudging again (its first closing task did not commit) is looked for anew, with what the latest nudge says.
      waiting.set(runId, { end, until: Date.now() + closeWaitMs });
      schedule();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      timer = undefined;
      await lookup;
      // The runs the worker closed while it drained: one more lookup, bounded, then whatever is left goes to the sweeper.
      if (waiting.size > 0) {
        const final = lookUpWaiting();
        await Promise.race([final, new Promise((resolve) => setTimeout(resolve, FINAL_LOOKUP_MS).unref())]);
      }
      stopped = true;
      waiting.clear();
    },
  };
}

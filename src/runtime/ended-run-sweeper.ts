/**
 * Closes out the runs Temporal ended (terminated, timed out) in the event log, every few seconds, from
 * visibility: a stream waiting on such a message then ends, on every API host, without anyone asking
 * for its status. Runs in each worker process; the append is idempotent, so several sweepers agree.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { recordEndedRun } from '../store/ended-run-events';
import type { EventLog } from '../store/event-log';
import { listEndedRuns } from '../temporal/ended-runs';

/** How often visibility is asked. @defaultValue 5 s */
export const ENDED_RUN_SWEEP_INTERVAL_MS = 5_000;
/** Each window reaches back this far before the previous one: visibility is eventually consistent. */
const VISIBILITY_LAG_MS = 60_000;
/** At start, runs ended this recently are checked (a worker that was down misses no close-out of the last day). */
const FIRST_LOOKBACK_MS = 24 * 60 * 60_000;

export interface EndedRunSweeperOptions {
  client: Client;
  events: EventLog;
  logger: Logger;
  intervalMs?: number;
}

/** Starts sweeping; the answer stops it (and waits for a sweep in progress). */
export function startEndedRunSweeper(options: EndedRunSweeperOptions): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? ENDED_RUN_SWEEP_INTERVAL_MS;
  let since = new Date(Date.now() - FIRST_LOOKBACK_MS);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const sweep = async () => {
    const startedAt = Date.now();
    let closedOut = 0;
    for await (const run of listEndedRuns(options.client, since)) {
      if (stopped) return;
      if (await recordEndedRun(options.events, run)) {
        closedOut += 1;
        options.logger.info({ messageId: run.messageId, runId: run.runId, state: run.state }, 'ended run closed out');
      }
    }
    since = new Date(startedAt - VISIBILITY_LAG_MS);
    if (closedOut > 0) options.logger.debug({ closedOut }, 'ended-run sweep');
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep()
        .catch((error: unknown) => options.logger.warn({ err: error }, 'ended-run sweep failed; retried next time'))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

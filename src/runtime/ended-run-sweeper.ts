/**
 * Closes out, every few seconds, from visibility, the runs whose last event nobody else recorded: runs
 * Temporal ended (terminated, timed out), and completed lean runs whose worker died between the close
 * and its close-out (runtime/close-out-watcher). A stream waiting on such a message then ends, on every
 * API host, without anyone asking for its status. Runs in each worker process; the append is
 * idempotent, so several sweepers agree.
 *
 * Completed runs are many (every message), so they are listed less often and over a shorter past than
 * the rare ended ones: each such sweep reads each recent completion from visibility and the log once or twice.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { EndedRun } from '../contract/message-event';
import { recordEndedRun } from '../store/ended-run-events';
import type { EventLog } from '../store/event-log';
import { listCompletedRuns, listEndedRuns } from '../temporal/ended-runs';

/** How often visibility is asked for runs Temporal ended. @defaultValue 5 s */
export const ENDED_RUN_SWEEP_INTERVAL_MS = 5_000;
/** Every this many sweeps, completed runs are checked too (every 15 s by default). */
const COMPLETED_RUN_SWEEP_EVERY = 3;
/** Each window reaches back this far before the previous one: visibility is eventually consistent. */
const VISIBILITY_LAG_MS = 60_000;
/** The same for completed runs, whose close-out the closing worker normally did within milliseconds. */
const COMPLETED_VISIBILITY_LAG_MS = 20_000;
/** At start, runs ended this recently are checked (a worker that was down misses no close-out of the last day). */
const FIRST_LOOKBACK_MS = 24 * 60 * 60_000;
/** And completed runs this recently: a fleet whose every worker was down longer leaves older ones to status reads. */
const FIRST_COMPLETED_LOOKBACK_MS = 15 * 60_000;

export interface EndedRunSweeperOptions {
  client: Client;
  /** The task queue whose runs this Herald owns (another Herald in the namespace keeps its own log). */
  taskQueue: string;
  events: EventLog;
  logger: Logger;
  intervalMs?: number;
}

/** One kind of run to sweep, with its own window. */
interface SweepPass {
  list: (client: Client, taskQueue: string, since: Date) => AsyncIterable<EndedRun>;
  since: Date;
  lagMs: number;
  every: number;
}

/** Starts sweeping; the answer stops it (and waits for a sweep in progress). */
export function startEndedRunSweeper(options: EndedRunSweeperOptions): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? ENDED_RUN_SWEEP_INTERVAL_MS;
  const passes: SweepPass[] = [
    {
      list: listEndedRuns,
      since: new Date(Date.now() - FIRST_LOOKBACK_MS),
      lagMs: VISIBILITY_LAG_MS,
      every: 1,
    },
    {
      list: listCompletedRuns,
      since: new Date(Date.now() - FIRST_COMPLETED_LOOKBACK_MS),
      lagMs: COMPLETED_VISIBILITY_LAG_MS,
      every: COMPLETED_RUN_SWEEP_EVERY,
    },
  ];
  let stopped = false;
  let sweeps = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const sweepPass = async (pass: SweepPass) => {
    const startedAt = Date.now();
    let closedOut = 0;
    for await (const run of pass.list(options.client, options.taskQueue, pass.since)) {
      if (stopped) return;
      if (await recordEndedRun(options.events, run)) {
        closedOut += 1;
        options.logger.info({ messageId: run.messageId, runId: run.runId, state: run.state }, 'ended run closed out');
      }
    }
    pass.since = new Date(startedAt - pass.lagMs);
    if (closedOut > 0) options.logger.debug({ closedOut }, 'ended-run sweep');
  };
  const sweep = async () => {
    sweeps += 1;
    for (const pass of passes) if (sweeps % pass.every === 0 || sweeps === 1) await sweepPass(pass);
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

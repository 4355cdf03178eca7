/**
 * Retention: redriven and discarded dead-letter records, and events, are deleted once older than
 * HERALD_DEAD_LETTER_RECORD_RETENTION and HERALD_EVENT_RETENTION. Each worker process runs a pass every
 * HERALD_RETENTION_INTERVAL (jittered, so a fleet spreads out), deleting in bounded batches with a pause
 * between, so no statement holds a lock for long and live traffic goes first.
 *
 * No lock elects one pruner: the stores' prune is safe to run concurrently (PostgreSQL's skips rows
 * another pruner holds), and a pass with nothing to delete costs one indexed probe per store.
 */
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { EventLog } from '../store/event-log';
import type { BlobSweep } from './blob-sweeper';

/** Rows per delete statement: milliseconds of work, a lock held no longer. */
export const RETENTION_BATCH_SIZE = 1_000;
/** Pause between two batches of one pass. */
export const RETENTION_PAUSE_MS = 200;
/** The first pass runs this soon after start (or after one interval, if shorter). */
export const RETENTION_FIRST_PASS_MS = 60_000;

export interface RetentionOptions {
  store: Pick<DeadLetterStore, 'prune'>;
  events: Pick<EventLog, 'prune'>;
  retention: HeraldConfig['retention'];
  /** The blob sweep (runtime/blob-sweeper.ts), run after the stores in each pass; absent, none. */
  sweepBlobs?: (stopped: () => boolean) => Promise<BlobSweep>;
  logger: Logger;
  batchSize?: number;
  pauseMs?: number;
  firstPassMs?: number;
  now?: () => number;
  random?: () => number;
}

/** What one pass deleted. */
export interface RetentionPass {
  deadLetters: number;
  events: number;
  /** Blobs no message needs any more, and partial ones of puts that died. */
  blobs: number;
}

/** Runs one pass over both stores; `stopped` is checked between batches, so a stop does not wait for a long pass. */
export async function runRetentionPass(
  options: Omit<RetentionOptions, 'firstPassMs' | 'random' | 'logger'> & { stopped?: () => boolean },
): Promise<RetentionPass> {
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const pauseMs = options.pauseMs ?? RETENTION_PAUSE_MS;
  const now = options.now ?? Date.now;
  const stopped = options.stopped ?? (() => false);
  const drain = async (prune: (olderThan: string, batchSize: number) => Promise<number>, keepMs: number) => {
    if (keepMs <= 0) return 0; // 0 keeps everything
    const olderThan = new Date(now() - keepMs).toISOString();
    let deleted = 0;
    while (!stopped()) {
      const count = await prune(olderThan, batchSize);
      deleted += count;
      if (count < batchSize) break;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return deleted;
  };
  const deadLetters = await drain(
    (olderThan, size) => options.store.prune(olderThan, size),
    options.retention.deadLetterRecordsMs,
  );
  const events = await drain((olderThan, size) => options.events.prune(olderThan, size), options.retention.eventsMs);
  const swept = options.sweepBlobs ? await options.sweepBlobs(stopped) : { deleted: 0, abandoned: 0 };
  return { deadLetters, events, blobs: swept.deleted + swept.abandoned };
}

/** A delay of `ms` jittered by ±20 %. */
const jittered = (ms: number, random: () => number) => Math.round(ms * (0.8 + 0.4 * random()));

/** Runs passes until stop(); a failed pass is logged and the next one comes at its time. */
export function startRetention(options: RetentionOptions): { stop(): Promise<void> } {
  const random = options.random ?? Math.random;
  const { intervalMs } = options.retention;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        if (!stopped) schedule(jittered(intervalMs, random));
      });
    }, ms);
    timer.unref();
  };
  const pass = async () => {
    try {
      const deleted = await runRetentionPass({ ...options, stopped: () => stopped });
      if (deleted.deadLetters > 0 || deleted.events > 0 || deleted.blobs > 0) {
        options.logger.info(
          { deadLetterRecords: deleted.deadLetters, events: deleted.events, blobs: deleted.blobs },
          'retention: deleted old records',
        );
      }
    } catch (error) {
      options.logger.warn({ err: error }, 'retention pass failed; the next one will try again');
    }
  };

  schedule(jittered(Math.min(options.firstPassMs ?? RETENTION_FIRST_PASS_MS, intervalMs), random));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/**
 * Admission control as the API runs it: one backlog poll per API process (shared by every request, so
 * no request makes an RPC of its own to decide), start calls timed into the controller, refusals turned
 * into 429 problems, and one log line per change into or out of shedding. The decisions are
 * src/api/admission-control.ts.
 */
import type { Client } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { HeraldConfig } from '../config/config';
import { readTaskQueueBacklog } from '../temporal/task-queue-backlog';
import { AdmissionController, type AdmissionDecision, type ShedReason } from './admission-control';
import { ProblemError } from './problem';

export interface AdmissionDeps {
  config: HeraldConfig;
  client: Client;
  logger: FastifyBaseLogger;
  now?: () => number;
}

/** Counters an operator (and a test) can read; the transition log lines carry them too. */
export interface AdmissionCounters {
  /** Times this process went into shedding. */
  sheddingEpisodes: number;
  /** New messages refused, by why. */
  refused: Record<ShedReason, number>;
}

/** Starts the backlog poll (when enabled); `close()` stops it. */
export function createAdmission({ config, client, logger, now = Date.now }: AdmissionDeps) {
  const settings = config.admission;
  const controller = new AdmissionController(settings, now);
  const counters: AdmissionCounters = {
    sheddingEpisodes: 0,
    refused: { backlog: 0, 'start-latency': 0, 'starts-in-flight': 0 },
  };
  let sheddingSince: number | undefined;
  let refusedAtEpisodeStart = 0;
  const totalRefused = () => Object.values(counters.refused).reduce((a, b) => a + b, 0);

  controller.onTransition((transition) => {
    if (transition.shedding) {
      if (sheddingSince === undefined) {
        counters.sheddingEpisodes += 1;
        sheddingSince = now();
        refusedAtEpisodeStart = totalRefused();
      }
      logger.warn(
        { admission: 'shedding', reason: transition.reason, sheddingEpisodes: counters.sheddingEpisodes },
        `admission: refusing new messages (429): ${transition.detail}`,
      );
    } else {
      const episodeMs = sheddingSince === undefined ? 0 : now() - sheddingSince;
      logger.info(
        { admission: 'admitting', episodeMs, refusedInEpisode: totalRefused() - refusedAtEpisodeStart },
        'admission: accepting new messages again',
      );
      sheddingSince = undefined;
    }
  });

  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let pollFailing = false;
  const poll = async () => {
    if (polling) return; // a slow Temporal: one describe at a time
    polling = true;
    try {
      const sample = await readTaskQueueBacklog(client, config.temporal.namespace, config.taskQueue, now);
      controller.recordBacklog(sample);
      if (pollFailing) logger.info('admission: task queue backlog readable again');
      pollFailing = false;
    } catch (error) {
      // Starts fail on their own when Temporal is down (503); until then the last sample ages out.
      if (!pollFailing) logger.warn({ err: error }, 'admission: cannot read the task queue backlog');
      pollFailing = true;
    } finally {
      polling = false;
    }
  };
  if (settings.enabled) {
    timer = setInterval(() => void poll(), config.admission.pollIntervalMs);
    timer.unref();
    void poll();
  }

  return {
    controller,
    counters,
    /**
     * Runs `start` if a new message may start now, timing it for the controller; otherwise throws the
     * 429 problem. `isResend` is asked only when refusing: a resend of a message that exists is never
     * refused (its answer starts nothing).
     */
    async admitStart<T>(start: () => Promise<T>, isResend: () => Promise<boolean>): Promise<T> {
      const decision = controller.tryAdmit();
      if (!decision.admit) {
        if (await isResend()) return start();
        counters.refused[decision.reason] += 1;
        throw refusal(decision);
      }
      const startedAt = now();
      try {
        return await start();
      } finally {
        controller.startEnded(now() - startedAt);
      }
    },
    close(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The admission control of one API process (decorated on the instance as `admission`). */
export type Admission = ReturnType<typeof createAdmission>;

function refusal(decision: Extract<AdmissionDecision, { admit: false }>): ProblemError {
  const { reason, retryAfterSeconds, detail, backlog, startLatencyP95Ms } = decision;
  return new ProblemError(
    'rate-limited',
    detail,
    {
      reason,
      retryAfterSeconds,
      ...(backlog
        ? {
            backlog: {
              workflowTasks: backlog.workflowTasks.count,
              workflowTaskAgeMs: backlog.workflowTasks.ageMs,
              activityTasks: backlog.activityTasks.count,
              activityTaskAgeMs: backlog.activityTasks.ageMs,
            },
          }
        : {}),
      ...(startLatencyP95Ms !== undefined ? { startLatencyP95Ms } : {}),
    },
    retryAfterSeconds,
  );
}

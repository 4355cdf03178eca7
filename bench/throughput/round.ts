/**
 * One measured round: a closed loop of messages through one variant on one server, then a bounded wait
 * until its workflows have closed (so the CPU counted includes each workflow's last task, and the next
 * round starts on a quiet server), the CPU each process used meanwhile, and a sample of histories.
 */
import type { Client } from '@temporalio/client';
import { runClosedLoop } from './closed-loop';
import type { Downstream } from './downstream';
import { countRunning, sampleHistories, type HistorySample } from './histories';
import { ownCpuMs, processTreeCpuMs } from './process-cpu';
import { attemptRate, latencySummary, type AttemptRate } from './stats';
import type { BenchServer } from './temporal-servers';
import type { RunningVariant, VariantName } from './variants';

export interface RoundResult {
  server: string;
  variant: VariantName;
  round: number;
  messages: number;
  concurrency: number;
  accepted: number;
  delivered: number;
  /** Deliveries the downstream saw twice during the round (at-least-once). */
  duplicates: number;
  refused: number;
  failed: number;
  firstFailure?: string;
  seconds: number;
  deliveredPerSecond: number;
  /** Requests the receiver got during the round (failed attempts too), over the time from its first to its last. */
  attemptsPerSecond: number;
  /** The same requests' steady rate and busiest 2-second window (what a rate limit is judged by). */
  attemptRate: AttemptRate;
  acceptMs: { p50: number; p95: number; p99: number };
  endToEndMs: { p50: number; p95: number; p99: number };
  /** CPU ms per delivered message, by process; NaN where not measured (a fleet's server, bare's API). */
  cpuMsPerMessage: { server: number; worker: number; api: number; benchClient: number };
  /** Seconds after the last delivery until no workflow of the queue was running. */
  closeSeconds: number;
  /** Workflows still running when the wait gave up (0 normally). */
  stillRunning: number;
  history: HistorySample;
}

export interface RoundOptions {
  server: BenchServer;
  variant: RunningVariant;
  client: Client;
  downstream: Downstream;
  round: number;
  messages: number;
  concurrency: number;
  /** Longest a round may take, sending and delivering. */
  timeLimitMs: number;
  historySample: number;
}

const CLOSE_WAIT_MS = 60_000;

export async function runRound(options: RoundOptions): Promise<RoundResult> {
  const { server, variant, client, downstream } = options;
  const prefix = `bench-${variant.name}-${server.kind}-r${options.round}-${Date.now().toString(36)}`;
  const cpu = () => ({
    server: server.pid === undefined ? Number.NaN : processTreeCpuMs(server.pid),
    worker: processTreeCpuMs(variant.worker.pid),
    api: variant.api ? processTreeCpuMs(variant.api.pid) : Number.NaN,
    benchClient: ownCpuMs(),
  });
  const duplicatesBefore = downstream.duplicates();
  const requestsBefore = downstream.requestTimes.length;
  const cpuBefore = cpu();
  const loop = await runClosedLoop({
    messages: options.messages,
    concurrency: options.concurrency,
    deadline: performance.now() + options.timeLimitMs,
    idOf: (n) => `${prefix}-${n}`,
    send: variant.send,
    downstream,
  });
  const requests = downstream.requestTimes.slice(requestsBefore);
  const requestSeconds = requests.length > 1 ? (requests.at(-1)! - requests[0]!) / 1000 : Number.NaN;
  const closeFrom = performance.now();
  let stillRunning = await countRunning(client, variant.taskQueue);
  while (stillRunning > 0 && performance.now() - closeFrom < CLOSE_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    stillRunning = await countRunning(client, variant.taskQueue);
  }
  const closeSeconds = (performance.now() - closeFrom) / 1000;
  const cpuAfter = cpu();
  const perMessage = (key: keyof typeof cpuBefore) => (cpuAfter[key] - cpuBefore[key]) / Math.max(1, loop.delivered);
  const seconds = (loop.finishedAt - loop.startedAt) / 1000;
  const history = await sampleHistories(client, loop.acceptedIds, options.historySample);
  return {
    server: server.kind,
    variant: variant.name,
    round: options.round,
    messages: loop.sent,
    concurrency: options.concurrency,
    accepted: loop.accepted,
    delivered: loop.delivered,
    duplicates: downstream.duplicates() - duplicatesBefore,
    refused: loop.refused,
    failed: loop.failed,
    ...(loop.firstFailure ? { firstFailure: loop.firstFailure } : {}),
    seconds,
    deliveredPerSecond: loop.delivered / seconds,
    // n requests span n − 1 intervals.
    attemptsPerSecond: (requests.length - 1) / requestSeconds,
    attemptRate: attemptRate(requests),
    acceptMs: latencySummary(loop.acceptMs),
    endToEndMs: latencySummary(loop.endToEndMs),
    cpuMsPerMessage: {
      server: perMessage('server'),
      worker: perMessage('worker'),
      api: perMessage('api'),
      benchClient: perMessage('benchClient'),
    },
    closeSeconds,
    stillRunning,
    history,
  };
}

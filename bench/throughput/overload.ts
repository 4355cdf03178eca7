/**
 * The overload run, against Herald only: a short closed loop finds its capacity (delivered/s), then an
 * open loop offers `factor` × that rate for a fixed window, whatever the answers. It counts what the API
 * admitted (202), refused (429, with each Retry-After, never honoured) and failed; after the window it
 * waits (bounded) for every admitted message to arrive downstream: lost = admitted − delivered, which
 * must be 0.
 */
import { runClosedLoop } from './closed-loop';
import type { Downstream } from './downstream';
import { ownCpuMs, processTreeCpuMs } from './process-cpu';
import { latencySummary, spread, type Spread } from './stats';
import { formatSpread, formatTable } from './table';
import type { BenchServer } from './temporal-servers';
import type { RunningVariant } from './variants';

export interface OverloadOptions {
  server: BenchServer;
  herald: RunningVariant;
  downstream: Downstream;
  capacityMessages: number;
  concurrency: number;
  factor: number;
  windowSeconds: number;
  drainSeconds: number;
}

export interface OverloadResult {
  server: string;
  capacity: { messages: number; delivered: number; deliveredPerSecond: number };
  offeredPerSecond: number;
  windowSeconds: number;
  offered: number;
  admitted: number;
  refused: number;
  failed: number;
  firstFailure?: string;
  /** Retry-After of the refusals, seconds (undefined ones left out). */
  retryAfterSeconds: Spread & { count: number };
  acceptMs: { p50: number; p95: number; p99: number };
  endToEndMs: { p50: number; p95: number; p99: number };
  /** Admitted messages that arrived within the window, per second of the window. */
  deliveredPerSecondInWindow: number;
  /** All admitted messages that arrived, per second from the window's start to the last arrival. */
  deliveredPerSecondOverall: number;
  delivered: number;
  lost: number;
  drainedSeconds: number;
  cpuMsPerAdmitted: { server: number; worker: number; api: number; benchClient: number };
}

/** At most this many hand-overs outstanding: past it the sender stops offering (counted as failed). */
const MAX_OUTSTANDING = 5_000;

export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  const { herald, downstream, server } = options;
  const prefix = `bench-overload-${Date.now().toString(36)}`;
  const capacity = await runClosedLoop({
    messages: options.capacityMessages,
    concurrency: options.concurrency,
    deadline: performance.now() + 10 * 60_000,
    idOf: (n) => `${prefix}-capacity-${n}`,
    send: herald.send,
    downstream,
  });
  const capacityPerSecond = capacity.delivered / ((capacity.finishedAt - capacity.startedAt) / 1000);
  const rate = capacityPerSecond * options.factor;
  console.log(
    `capacity ${capacityPerSecond.toFixed(1)} delivered/s; offering ${rate.toFixed(1)}/s for ${options.windowSeconds}s…`,
  );

  const cpu = () => ({
    server: server.pid === undefined ? Number.NaN : processTreeCpuMs(server.pid),
    worker: processTreeCpuMs(herald.worker.pid),
    api: herald.api ? processTreeCpuMs(herald.api.pid) : Number.NaN,
    benchClient: ownCpuMs(),
  });
  const cpuBefore = cpu();
  const admitted = new Map<string, number>(); // id → sent at
  const acceptMs: number[] = [];
  const retryAfter: number[] = [];
  let refused = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let outstanding = 0;
  const handOvers: Promise<void>[] = [];
  const windowStart = performance.now();
  const windowEnd = windowStart + options.windowSeconds * 1000;
  let offered = 0;
  while (performance.now() < windowEnd) {
    // On schedule, not after a fixed sleep, so the rate holds when a tick runs late.
    const due = windowStart + (offered * 1000) / rate;
    if (due >= windowEnd) break;
    if (performance.now() < due) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    const n = offered++;
    const id = `${prefix}-open-${n}`;
    if (outstanding >= MAX_OUTSTANDING) {
      failed += 1;
      firstFailure ??= `more than ${MAX_OUTSTANDING} hand-overs outstanding`;
      continue;
    }
    outstanding += 1;
    const sentAt = performance.now();
    handOvers.push(
      herald.send(id, n).then((outcome) => {
        outstanding -= 1;
        if (outcome.kind === 'accepted') {
          admitted.set(id, sentAt);
          acceptMs.push(performance.now() - sentAt);
        } else if (outcome.kind === 'refused') {
          refused += 1;
          if (outcome.retryAfterSeconds !== undefined) retryAfter.push(outcome.retryAfterSeconds);
        } else {
          failed += 1;
          firstFailure ??= outcome.detail;
        }
      }),
    );
  }
  await Promise.all(handOvers);
  const deliveredInWindow = [...admitted.keys()].filter(
    (id) => (downstream.receivedAt.get(id) ?? Infinity) <= windowEnd,
  ).length;

  const drainDeadline = performance.now() + options.drainSeconds * 1000;
  const arrivals = await Promise.all([...admitted.keys()].map((id) => downstream.waitFor(id, drainDeadline)));
  const arrived = arrivals.filter((at): at is number => at !== undefined);
  const lastArrival = Math.max(windowStart, ...arrived);
  const cpuAfter = cpu();
  const endToEnd = [...admitted].flatMap(([id, sentAt]) => {
    const at = downstream.receivedAt.get(id);
    return at === undefined ? [] : [at - sentAt];
  });
  const perAdmitted = (key: keyof typeof cpuBefore) => (cpuAfter[key] - cpuBefore[key]) / Math.max(1, admitted.size);
  return {
    server: server.kind,
    capacity: {
      messages: capacity.sent,
      delivered: capacity.delivered,
      deliveredPerSecond: capacityPerSecond,
    },
    offeredPerSecond: rate,
    windowSeconds: options.windowSeconds,
    offered,
    admitted: admitted.size,
    refused,
    failed,
    ...(firstFailure ? { firstFailure } : {}),
    retryAfterSeconds: { ...spread(retryAfter), count: retryAfter.length },
    acceptMs: latencySummary(acceptMs),
    endToEndMs: latencySummary(endToEnd),
    deliveredPerSecondInWindow: deliveredInWindow / options.windowSeconds,
    deliveredPerSecondOverall: arrived.length / ((lastArrival - windowStart) / 1000),
    delivered: arrived.length,
    lost: admitted.size - arrived.length,
    drainedSeconds: (lastArrival - windowEnd) / 1000,
    cpuMsPerAdmitted: {
      server: perAdmitted('server'),
      worker: perAdmitted('worker'),
      api: perAdmitted('api'),
      benchClient: perAdmitted('benchClient'),
    },
  };
}

export function formatOverload(result: OverloadResult): string {
  const ms = (v: number) => v.toFixed(0);
  return formatTable([
    ['overload (Herald)', result.server],
    [
      'capacity (closed loop)',
      `${result.capacity.deliveredPerSecond.toFixed(1)} delivered/s (${result.capacity.delivered} messages)`,
    ],
    ['offered', `${result.offeredPerSecond.toFixed(1)}/s for ${result.windowSeconds}s = ${result.offered}`],
    [
      'admitted (202) / refused (429) / failed',
      `${result.admitted} / ${result.refused} / ${result.failed}${result.firstFailure ? ` (first: ${result.firstFailure})` : ''}`,
    ],
    [
      'Retry-After of refusals, s',
      result.retryAfterSeconds.count === 0
        ? 'n/a'
        : `${formatSpread(result.retryAfterSeconds, 0)} (${result.retryAfterSeconds.count} given)`,
    ],
    [
      'accept latency p50 / p95 / p99 (admitted)',
      `${ms(result.acceptMs.p50)} / ${ms(result.acceptMs.p95)} / ${ms(result.acceptMs.p99)} ms`,
    ],
    [
      'end-to-end p50 / p95 / p99 (admitted)',
      `${(result.endToEndMs.p50 / 1000).toFixed(1)} / ${(result.endToEndMs.p95 / 1000).toFixed(1)} / ${(result.endToEndMs.p99 / 1000).toFixed(1)} s`,
    ],
    [
      'delivered/s in the window / overall',
      `${result.deliveredPerSecondInWindow.toFixed(1)} / ${result.deliveredPerSecondOverall.toFixed(1)} (${percentOf(result.deliveredPerSecondInWindow, result.capacity.deliveredPerSecond)} / ${percentOf(result.deliveredPerSecondOverall, result.capacity.deliveredPerSecond)} of capacity)`,
    ],
    ['drained after the window', `${result.drainedSeconds.toFixed(1)} s`],
    [
      'CPU ms per admitted: server / worker / API',
      [result.cpuMsPerAdmitted.server, result.cpuMsPerAdmitted.worker, result.cpuMsPerAdmitted.api]
        .map((v) => (Number.isNaN(v) ? 'n/a' : v.toFixed(1)))
        .join(' / '),
    ],
    ['lost (admitted − delivered)', String(result.lost)],
  ]);
}

function percentOf(value: number, of: number): string {
  return of > 0 ? `${Math.round((value / of) * 100)}%` : 'n/a';
}

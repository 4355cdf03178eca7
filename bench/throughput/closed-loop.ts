/**
 * A closed loop: `concurrency` lanes, each handing over one message and waiting until the downstream
 * received it before taking the next, until `messages` were sent or the deadline passed. A refusal (429)
 * is retried after its Retry-After (at most 1 s), so the loop also runs against an API with admission
 * control; a failed hand-over is counted and not retried.
 */
import type { Downstream } from './downstream';
import type { SendOutcome } from './variants';

export interface ClosedLoopOptions {
  messages: number;
  concurrency: number;
  /** performance.now() past which no message is sent and none is waited for. */
  deadline: number;
  idOf: (n: number) => string;
  send: (id: string, n: number) => Promise<SendOutcome>;
  downstream: Downstream;
}

export interface ClosedLoopResult {
  sent: number;
  accepted: number;
  delivered: number;
  refused: number;
  failed: number;
  firstFailure: string | undefined;
  /** Hand-over latencies of accepted messages (POST → 202, or start() resolved), ms. */
  acceptMs: number[];
  /** Send → the downstream received it, ms (from the first try, refusals included). */
  endToEndMs: number[];
  /** performance.now() of the first send and the last arrival. */
  startedAt: number;
  finishedAt: number;
  /** The ids accepted, in order of acceptance. */
  acceptedIds: string[];
}

const MAX_REFUSAL_WAIT_MS = 1_000;

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const result: ClosedLoopResult = {
    sent: 0,
    accepted: 0,
    delivered: 0,
    refused: 0,
    failed: 0,
    firstFailure: undefined,
    acceptMs: [],
    endToEndMs: [],
    startedAt: performance.now(),
    finishedAt: performance.now(),
    acceptedIds: [],
  };
  let next = 0;
  const lane = async () => {
    while (next < options.messages && performance.now() < options.deadline) {
      const n = next++;
      const id = options.idOf(n);
      const sentAt = performance.now();
      result.sent += 1;
      let outcome: SendOutcome;
      let triedAt: number;
      for (;;) {
        triedAt = performance.now();
        outcome = await options.send(id, n);
        if (outcome.kind !== 'refused' || performance.now() > options.deadline) break;
        result.refused += 1;
        const waitMs = Math.min(MAX_REFUSAL_WAIT_MS, (outcome.retryAfterSeconds ?? 0.1) * 1000);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      if (outcome.kind !== 'accepted') {
        result.failed += 1;
        result.firstFailure ??= outcome.kind === 'failed' ? outcome.detail : 'refused until the deadline';
        continue;
      }
      result.accepted += 1;
      result.acceptedIds.push(id);
      result.acceptMs.push(performance.now() - triedAt);
      const arrivedAt = await options.downstream.waitFor(id, options.deadline);
      if (arrivedAt === undefined) continue;
      result.delivered += 1;
      result.endToEndMs.push(arrivedAt - sentAt);
      result.finishedAt = Math.max(result.finishedAt, arrivedAt);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return result;
}

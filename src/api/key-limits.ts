/**
 * Limits per API key, so one key cannot flood the API or fill Temporal for everyone:
 *
 * - A request rate (HERALD_RATE_LIMIT, `@fastify/rate-limit`): every authenticated request counts
 *   against its key's window; beyond it, 429 with Retry-After (when the window opens again). The count
 *   is each API host's own (in memory), so a fleet of N hosts behind a balancer lets a key through at
 *   up to N times the rate; size it per host.
 * - Messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY): a new message from a key that already has that
 *   many accepted and not yet settled gets 429. Counted by Temporal visibility (`HeraldSender`), which
 *   every host of a fleet shares, cached for a second per key, with this host's own recent accepts added
 *   (slots taken before the send starts, so a concurrent burst cannot pass together): on one host the
 *   bound is exact; across a fleet, other hosts' accepts count once visibility shows them (about a second).
 *
 * Both answer the `urn:herald:problem:rate-limited` problem the client and the outbox already honour
 * (they keep the message and come back after Retry-After).
 */
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { Client } from '@temporalio/client';
import { MESSAGE_WORKFLOW_CLAUSE } from '../contract/definitions';
import { MESSAGE_STATES, TERMINAL_STATES } from '../contract/message-status';
import { HERALD_SENDER, HERALD_STATE } from '../contract/search-attributes';
import { ProblemError } from './problem';

/**
 * The options of `@fastify/rate-limit` for the per-key request rate (undefined: no limit). Registered
 * before the routes, whose hooks it adds as they register.
 */
export function keyRateLimitOptions(
  limit: { max: number; windowMs: number } | null,
): RateLimitPluginOptions | undefined {
  if (!limit) return undefined;
  return {
    global: true,
    max: limit.max,
    timeWindow: limit.windowMs,
    // After the API key is checked (onRequest) and before the body is read.
    hook: 'preParsing',
    keyGenerator: (request) => request.caller?.name ?? '',
    // Health, metrics, documentation and pointer reads carry no key: they are not a key's requests.
    allowList: (request) => request.caller === undefined,
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    errorResponseBuilder: (request, context) => {
      const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new ProblemError(
        'rate-limited',
        `API key "${request.caller?.name ?? ''}" made more than ${context.max} requests in ${limit.windowMs / 1000} s (HERALD_RATE_LIMIT); retry after ${retryAfterSeconds} s`,
        { reason: 'key-request-rate', retryAfterSeconds },
        retryAfterSeconds,
      );
    },
  };
}

/** How long a key's in-flight count is used before visibility is asked again. */
const COUNT_TTL_MS = 1_000;
/**
 * How long a message this host accepted may be missing from a visibility count that began after it:
 * visibility trails starts (about a second on Elasticsearch, less on SQL). Within it, the host adds its own
 * accepts to the count, so the bound errs toward refusing, never toward letting a burst through.
 */
const VISIBILITY_ALLOWANCE_MS = 3_000;
/** When a key at its in-flight limit is told to come back: messages settle at their own pace. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 2;

const UNSETTLED_STATES = MESSAGE_STATES.filter((state) => !TERMINAL_STATES.includes(state));

/** The visibility query for the messages a key has in flight. Key names hold no quotes (config.ts). */
export function inFlightQuery(sender: string): string {
  const states = UNSETTLED_STATES.map((state) => `'${state}'`).join(', ');
  return `${MESSAGE_WORKFLOW_CLAUSE} AND ${HERALD_SENDER.name} = '${sender}' AND ExecutionStatus = 'Running' AND ${HERALD_STATE.name} IN (${states})`;
}

export interface InFlightLimit {
  /**
   * Takes a slot for a new message of `sender`, or throws the 429 when it is at its limit, unless the send is
   * a resend (`isResend`, asked only then). Returns the slot's release: call it when the message did not
   * start after all (refused, failed, or a resend), so the slot is not counted.
   */
  reserve(sender: string, isResend: () => Promise<boolean>): Promise<() => void>;
}

export function createInFlightLimit(options: {
  client: Client;
  namespace: string;
  max: number;
  now?: () => number;
}): InFlightLimit {
  const now = options.now ?? Date.now;
  /** Per key: the last visibility count, when its query began, and this host's slots (their times). */
  const keys = new Map<string, { count: number; queriedAt: number; slots: Set<{ at: number }> }>();
  const reading = new Map<string, Promise<void>>();

  function stateOf(sender: string) {
    let state = keys.get(sender);
    if (!state) keys.set(sender, (state = { count: 0, queriedAt: -Infinity, slots: new Set() }));
    return state;
  }

  async function refresh(sender: string): Promise<void> {
    const state = stateOf(sender);
    const queriedAt = now();
    const response = await options.client.workflowService.countWorkflowExecutions({
      namespace: options.namespace,
      query: inFlightQuery(sender),
    });
    state.count = Number(response.count ?? 0);
    state.queriedAt = queriedAt;
  }

  /** The count, plus this host's slots that the count may not hold yet (taken after visibility's horizon). */
  function inFlight(sender: string): number {
    const state = stateOf(sender);
    const horizon = state.queriedAt - VISIBILITY_ALLOWANCE_MS;
    for (const slot of state.slots) if (slot.at < horizon) state.slots.delete(slot);
    return state.count + state.slots.size;
  }

  return {
    async reserve(sender, isResend) {
      const state = stateOf(sender);
      if (now() - state.queriedAt >= COUNT_TTL_MS) {
        // One count per key at a time: a burst of sends waits for the same answer.
        let pending = reading.get(sender);
        if (!pending) {
          pending = refresh(sender).finally(() => reading.delete(sender));
          reading.set(sender, pending);
        }
        await pending;
      }
      // Checked and taken with no await between: concurrent sends of one key each see the others' slots.
      const count = inFlight(sender);
      if (count >= options.max && !(await isResend())) {
        throw new ProblemError(
          'rate-limited',
          `API key "${sender}" has ${count} messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY ${options.max}); retry after ${IN_FLIGHT_RETRY_AFTER_SECONDS} s`,
          { reason: 'key-in-flight', retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS, inFlight: count },
          IN_FLIGHT_RETRY_AFTER_SECONDS,
        );
      }
      const slot = { at: now() };
      state.slots.add(slot);
      return () => void state.slots.delete(slot);
    },
  };
}

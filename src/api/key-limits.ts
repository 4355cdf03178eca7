/**
 * Limits per API key, so one key cannot flood the API or fill Temporal for everyone:
 *
 * - A request rate (HERALD_RATE_LIMIT, `@fastify/rate-limit`): every authenticated request counts
 *   against its key's window; beyond it, 429 with Retry-After (when the window opens again). The count
 *   is each API host's own (in memory), so a fleet of N hosts behind a balancer lets a key through at
 *   up to N times the rate; size it per host.
 * - Messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY): a new message from a key that already has that
 *   many accepted and not yet settled gets 429. Counted by Temporal visibility (`HeraldSender`), which
 *   every host of a fleet shares, and cached for a second per key, with this host's own accepts since
 *   the last count added: the bound holds across a fleet within about a second of visibility delay.
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
/** When a key at its in-flight limit is told to come back: messages settle at their own pace. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 2;

const UNSETTLED_STATES = MESSAGE_STATES.filter((state) => !TERMINAL_STATES.includes(state));

/** The visibility query for the messages a key has in flight. Key names hold no quotes (config.ts). */
export function inFlightQuery(sender: string): string {
  const states = UNSETTLED_STATES.map((state) => `'${state}'`).join(', ');
  return `${MESSAGE_WORKFLOW_CLAUSE} AND ${HERALD_SENDER.name} = '${sender}' AND ExecutionStatus = 'Running' AND ${HERALD_STATE.name} IN (${states})`;
}

export interface InFlightLimit {
  /** Throws the 429 when `sender` is at its limit, unless the send is a resend (`isResend`, asked only then). */
  check(sender: string, isResend: () => Promise<boolean>): Promise<void>;
  /** A new message of `sender` was accepted by this host. */
  accepted(sender: string): void;
}

export function createInFlightLimit(options: {
  client: Client;
  namespace: string;
  max: number;
  now?: () => number;
}): InFlightLimit {
  const now = options.now ?? Date.now;
  const counts = new Map<string, { count: number; at: number; since: number }>();
  const reading = new Map<string, Promise<number>>();

  async function read(sender: string): Promise<number> {
    const response = await options.client.workflowService.countWorkflowExecutions({
      namespace: options.namespace,
      query: inFlightQuery(sender),
    });
    return Number(response.count ?? 0);
  }

  async function inFlight(sender: string): Promise<number> {
    const known = counts.get(sender);
    if (known && now() - known.at < COUNT_TTL_MS) return known.count + known.since;
    // One count per key at a time: a burst of sends waits for the same answer.
    let pending = reading.get(sender);
    if (!pending) {
      pending = read(sender).finally(() => reading.delete(sender));
      reading.set(sender, pending);
    }
    const count = await pending;
    const entry = counts.get(sender);
    if (!entry || now() - entry.at >= COUNT_TTL_MS) counts.set(sender, { count, at: now(), since: 0 });
    const fresh = counts.get(sender)!;
    return fresh.count + fresh.since;
  }

  return {
    async check(sender, isResend) {
      const count = await inFlight(sender);
      if (count < options.max || (await isResend())) return;
      throw new ProblemError(
        'rate-limited',
        `API key "${sender}" has ${count} messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY ${options.max}); retry after ${IN_FLIGHT_RETRY_AFTER_SECONDS} s`,
        { reason: 'key-in-flight', retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS, inFlight: count },
        IN_FLIGHT_RETRY_AFTER_SECONDS,
      );
    },
    accepted(sender) {
      const entry = counts.get(sender);
      if (entry) entry.since += 1;
    },
  };
}

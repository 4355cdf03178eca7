/**
 * A handle on one message: its status, its outcome (by polling GET /v1/messages/{id} at the pace the
 * API's Retry-After asks for), and cancelling it.
 */
import type { Static } from '@sinclair/typebox';
import type { AttemptRecordSchema } from '../contract/message-status';
import { parseDuration } from '../contract/duration';
import {
  CancelledError,
  DeadLetteredError,
  HeraldApiError,
  isTransientFailure,
  RejectedError,
  TerminatedError,
  TimeoutError,
  type MessageStatus,
} from './errors';
import type { HeraldHttp } from './http';
import type { LocalState } from './outbox';

/** One HTTP attempt as the API reports it. */
export type Attempt = Static<typeof AttemptRecordSchema>;

/** How a message that went well ended. */
export type MessageResult =
  | { state: 'replied'; reply: NonNullable<MessageStatus['reply']>; status: MessageStatus }
  | {
      state: 'delivered';
      /** The attempt that delivered it; null only when no worker answered and the API read the state from visibility. */
      receipt: Attempt | null;
      status: MessageStatus;
    };

export interface ResultOptions {
  /**
   * How long to wait, in milliseconds or as a duration string (`"30s"`, `"5m"`). When it passes,
   * `result()` rejects with TimeoutError; the message itself goes on.
   * @defaultValue `'5m'`
   */
  timeout?: number | string;
  /**
   * Called with every status polled (to show progress).
   * @defaultValue none
   */
  onStatus?: (status: MessageStatus) => void;
  /**
   * Stops waiting; `result()` rejects with the signal's reason.
   * @defaultValue none
   */
  signal?: AbortSignal;
}

/** The wait between polls is what the API's Retry-After says, kept within these bounds. */
export const POLL_BOUNDS_MS = { min: 200, max: 5_000 } as const;
/** The wait when the answer carries no Retry-After (an error, say). */
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_RESULT_TIMEOUT = '5m';

/** @internal What a handle needs from its client. */
export interface HandleContext {
  http: HeraldHttp;
  /** Where a message stands in the client's outbox, when it has one. */
  localState?: (id: string) => LocalState;
}

/** A message known by id. Get one from `herald.send()` or `herald.message(id)`. */
export class MessageHandle {
  /** @internal */
  constructor(
    /** The message id. */
    readonly id: string,
    protected readonly context: HandleContext,
  ) {}

  /** The message's current status (GET /v1/messages/{id}). */
  async status(options: { signal?: AbortSignal } = {}): Promise<MessageStatus> {
    return (await this.context.http.call<MessageStatus>('GET', this.path(), { signal: options.signal })).body;
  }

  /**
   * Asks Herald to stop the message (POST /v1/messages/{id}/cancel). It becomes `cancelled` shortly
   * after; HeraldApiError 409 (`message-ended`) when it has already ended. A message still waiting in
   * the outbox is not known to the API yet (404).
   */
  async cancel(reason?: string): Promise<{ id: string; cancelRequested: true }> {
    const response = await this.context.http.call<{ id: string; cancelRequested: true }>(
      'POST',
      `${this.path()}/cancel`,
      { json: reason === undefined ? {} : { reason } },
    );
    return response.body;
  }

  /**
   * Waits for the message to end. Resolves when it was delivered (`{ state: 'delivered', receipt }`)
   * or replied to (`{ state: 'replied', reply }`); rejects with DeadLetteredError, CancelledError,
   * RejectedError or TerminatedError when it ended otherwise, TimeoutError when `timeout` passed first, and
   * HeraldApiError when the API refused the question (404 for an unknown id, say). While the API is
   * unreachable or answers 5xx it keeps asking until the timeout; a message still in the outbox is
   * waited for, and the API's refusal of it rejects this promise.
   */
  async result(options: ResultOptions = {}): Promise<MessageResult> {
    const timeoutMs = durationMs(options.timeout ?? DEFAULT_RESULT_TIMEOUT, 'timeout');
    const deadline = Date.now() + timeoutMs;
    let last: MessageStatus | undefined;
    let unknownPolls = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      let waitMs = DEFAULT_POLL_MS;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TimeoutError(this.id, timeoutMs, last);
      const wait = AbortSignal.timeout(remaining);
      try {
        const response = await this.context.http.call<MessageStatus>('GET', this.path(), {
          signal: options.signal ? AbortSignal.any([wait, options.signal]) : wait,
        });
        last = response.body;
        unknownPolls = 0;
        options.onStatus?.(last);
        const settled = settle(last);
        if (settled) return settled;
        waitMs = response.retryAfterMs ?? DEFAULT_POLL_MS;
      } catch (error) {
        options.signal?.throwIfAborted();
        if (wait.aborted) throw new TimeoutError(this.id, timeoutMs, last);
        if (error instanceof HeraldApiError && error.status === 404) {
          const local = this.context.localState?.(this.id) ?? { state: 'absent' };
          if (local.state === 'failed') throw local.error;
          // Absent twice in a row: not queued here and unknown to the API (accepted in between is once).
          if (local.state === 'absent' && ++unknownPolls > 1) throw error;
        } else if (!isTransientFailure(error)) {
          throw error;
        } else if (error instanceof HeraldApiError && error.retryAfterMs !== undefined) {
          waitMs = error.retryAfterMs;
        }
      }
      const pause = Math.min(Math.max(waitMs, POLL_BOUNDS_MS.min), POLL_BOUNDS_MS.max, deadline - Date.now());
      if (pause > 0) await sleep(pause, options.signal);
    }
  }

  private path(): string {
    return `/v1/messages/${encodeURIComponent(this.id)}`;
  }
}

/** The outcome for an ended message (or a typed error); undefined while it goes on. */
function settle(status: MessageStatus): MessageResult | undefined {
  switch (status.state) {
    case 'replied':
      if (!status.reply) return undefined; // visibility does not carry the reply; a worker will
      return { state: 'replied', reply: status.reply, status };
    case 'delivered': {
      const receipt = [...status.attempts].reverse().find((attempt) => attempt.outcome === 'delivered') ?? null;
      return { state: 'delivered', receipt, status };
    }
    case 'dead_lettered':
    case 'discarded':
      throw new DeadLetteredError(status);
    case 'cancelled':
      throw new CancelledError(status);
    case 'rejected':
      throw new RejectedError(status);
    case 'terminated':
    case 'timed_out':
      throw new TerminatedError({ ...status, state: status.state });
    default:
      return undefined;
  }
}

/** A duration option in milliseconds; RangeError naming the option when it is not one. */
export function durationMs(value: number | string, option: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new RangeError(`${option} must be milliseconds or a duration like "30s" (got ${value})`);
  return ms;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

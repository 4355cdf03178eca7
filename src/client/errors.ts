/**
 * What the client throws. Small named classes: `name` is set on each, so callers can check
 * `error.name` (which survives serialisation and duplicate copies of this module) as well as `instanceof`.
 */
import type { Static } from '@sinclair/typebox';
import type { ProblemSchema } from '../api/schemas';
import type { MessageStatusWithSourceSchema } from '../contract/message-status';

/** The API's status document for one message (GET /v1/messages/{id}). */
export type MessageStatus = Static<typeof MessageStatusWithSourceSchema>;
/** An RFC 9457 problem details body, as the API sends it. */
export type Problem = Static<typeof ProblemSchema>;

/** Base class of every error the client raises. */
export class HeraldError extends Error {
  override name = 'HeraldError';
}

/**
 * The API answered with an error status. `problem` is its RFC 9457 body (synthesised from the status
 * when the response was not problem+json, e.g. a proxy's 502 page).
 */
export class HeraldApiError extends HeraldError {
  override name = 'HeraldApiError';
  /** HTTP status. */
  readonly status: number;
  /** The problem type, `urn:herald:problem:<kind>` (or `about:blank` for a response that was not a problem). */
  readonly type: string;
  readonly problem: Problem;
  /** The response's Retry-After in milliseconds, when it had one. */
  readonly retryAfterMs: number | undefined;

  constructor(problem: Problem, retryAfterMs?: number) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.status = problem.status;
    this.type = problem.type;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The API could not be reached: connection refused or reset, DNS failure, or no answer within the request timeout. */
export class HeraldUnreachableError extends HeraldError {
  override name = 'HeraldUnreachableError';
  constructor(
    message: string,
    /** The underlying error code (`ECONNREFUSED`, `ECONNRESET`, `timeout`, …), when known. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The message ended in the dead-letter store (retries exhausted, a permanent error, its deadline or
 * reply timeout); also when an operator then discarded it (state `discarded`).
 */
export class DeadLetteredError extends HeraldError {
  override name = 'DeadLetteredError';
  readonly messageId: string;
  /**
   * Why and when it was dead-lettered, and until when it can be redriven. The reason is `unknown` when
   * the status came without a dead-letter record (read from visibility).
   */
  readonly deadLetter: Omit<NonNullable<MessageStatus['deadLetter']>, 'reason'> & {
    reason: NonNullable<MessageStatus['deadLetter']>['reason'] | 'unknown';
  };
  /** The message's full status when it was found dead-lettered. */
  readonly status: MessageStatus;

  constructor(status: MessageStatus) {
    const deadLetter: DeadLetteredError['deadLetter'] = status.deadLetter ?? {
      reason: 'unknown',
      at: status.updatedAt,
      round: 0,
      retainedUntil: status.updatedAt,
    };
    super(
      `message ${status.id} was dead-lettered (${deadLetter.reason})${status.lastError ? `: ${status.lastError.message}` : ''}`,
    );
    this.messageId = status.id;
    this.deadLetter = deadLetter;
    this.status = status;
  }
}

/** The message was cancelled before it ended. */
export class CancelledError extends HeraldError {
  override name = 'CancelledError';
  readonly messageId: string;
  readonly cancellation: MessageStatus['cancellation'];
  readonly status: MessageStatus;

  constructor(status: MessageStatus) {
    super(`message ${status.id} was cancelled${status.cancellation ? `: ${status.cancellation.reason}` : ''}`);
    this.messageId = status.id;
    this.cancellation = status.cancellation;
    this.status = status;
  }
}

/** The workflow refused the message's input (only messages started around the API's validation end so). */
export class RejectedError extends HeraldError {
  override name = 'RejectedError';
  readonly messageId: string;
  readonly rejection: MessageStatus['rejection'];
  readonly status: MessageStatus;

  constructor(status: MessageStatus) {
    super(`message ${status.id} was rejected${status.rejection ? `: ${status.rejection.reason}` : ''}`);
    this.messageId = status.id;
    this.rejection = status.rejection;
    this.status = status;
  }
}

/**
 * The message's workflow was terminated or timed out in Temporal (state `terminated` or `timed_out`):
 * it ended without an outcome, and may or may not have reached its destination.
 */
export class TerminatedError extends HeraldError {
  override name = 'TerminatedError';
  readonly messageId: string;
  readonly state: 'terminated' | 'timed_out';
  readonly status: MessageStatus;

  constructor(status: MessageStatus & { state: 'terminated' | 'timed_out' }) {
    super(
      `message ${status.id} ${status.state === 'terminated' ? 'was terminated' : 'timed out'} in Temporal before it ended`,
    );
    this.messageId = status.id;
    this.state = status.state;
    this.status = status;
  }
}

/** `result()` gave up waiting. The message itself goes on; wait again or check its status later. */
export class TimeoutError extends HeraldError {
  override name = 'TimeoutError';
  constructor(
    readonly messageId: string,
    readonly timeoutMs: number,
    /** The last status seen, if any poll succeeded. */
    readonly lastStatus: MessageStatus | undefined,
  ) {
    super(
      `message ${messageId} did not end within ${timeoutMs} ms${lastStatus ? ` (last state: ${lastStatus.state})` : ''}`,
    );
  }
}

/** An outbox call on a client constructed without `outbox`. */
export class OutboxNotConfiguredError extends HeraldError {
  override name = 'OutboxNotConfiguredError';
  constructor() {
    super('this client has no outbox: pass `outbox: { path }` to its constructor');
  }
}

/** A call on a client (or its outbox) after close(). */
export class ClientClosedError extends HeraldError {
  override name = 'ClientClosedError';
  constructor() {
    super('the Herald client is closed');
  }
}

/** send() with the id of a message still waiting in the outbox, but with other content. */
export class OutboxConflictError extends HeraldError {
  override name = 'OutboxConflictError';
  constructor(readonly messageId: string) {
    super(`message ${messageId} is already queued in the outbox with different content`);
  }
}

/**
 * Whether a failed API call may succeed later unchanged: the API was unreachable, or answered 5xx,
 * 408 or 429. Anything else (400, 401, 409, 413, 415, 422, …) is final.
 */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof HeraldUnreachableError) return true;
  if (error instanceof HeraldApiError) return error.status >= 500 || error.status === 408 || error.status === 429;
  return false;
}

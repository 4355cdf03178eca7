/**
 * What the `status` query answers, and the records a message accumulates on its way.
 * Pure types and constants, shared by the workflow, the API and the client.
 */
import type { FieldError } from './message';

export const MESSAGE_STATES = [
  'accepted',
  'delivering',
  'awaiting_reply',
  'replied',
  'delivered',
  'dead_lettered',
  'cancelled',
  'rejected',
  /** A dead letter an operator discarded (or whose parked workflow was cancelled): it will not be delivered. */
  'discarded',
  /** Its workflow was terminated in Temporal. The workflow cannot report this: the API reads it from the execution. */
  'terminated',
  /** Its workflow ran past its execution timeout. Like `terminated`, read from the execution. */
  'timed_out',
] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/**
 * States in which the message's outcome is settled. `dead_lettered` is one, though its workflow stays
 * parked for a redrive until retention ends.
 */
export const TERMINAL_STATES: readonly MessageState[] = [
  'replied',
  'delivered',
  'dead_lettered',
  'cancelled',
  'rejected',
  'discarded',
  'terminated',
  'timed_out',
];

export function isTerminal(state: MessageState): boolean {
  return TERMINAL_STATES.includes(state);
}

export type AttemptOutcome = 'delivered' | 'retryable' | 'permanent';

/** One HTTP attempt, as the delivery activity saw it. */
export interface AttemptRecord {
  /** Delivery round: 1 for the first delivery, +1 for each redrive. */
  round: number;
  /** Temporal's attempt number within the round, from 1. */
  attempt: number;
  outcome: AttemptOutcome;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Failure type (the Temporal failure type for failures, e.g. `RetryableDeliveryError`). */
  errorType?: string;
  /** Short machine-readable cause: `http_503`, `connection_refused`, `timeout`, … */
  cause?: string;
  error?: string;
  /** First bytes of the response body (bounded by config). */
  responseExcerpt?: string;
  durationMs: number;
  /** The delay before the next attempt when this one is retried; null when it was the last. */
  nextDelayMs: number | null;
  startedAt: string;
  finishedAt: string;
}

export interface ReplyInput {
  body: unknown;
  status?: number;
  headers?: Record<string, string>;
}

export interface ReplyRecord extends ReplyInput {
  receivedAt: string;
  via: 'signal' | 'update';
}

export type DeadLetterReason =
  | 'max_attempts_exhausted'
  | 'permanent_error'
  | 'deadline_exceeded'
  | 'reply_timeout'
  /** A callback to the sender never succeeded (the record's kind is `callback`). */
  | 'callback_failed';

export interface DeadLetterInfo {
  reason: DeadLetterReason;
  at: string;
  round: number;
  /** When the parked workflow completes if nobody redrives it. */
  retainedUntil: string;
  /** Set when an operator discarded the dead letter. */
  discardedAt?: string;
}

export interface LastError {
  type: string;
  message: string;
}

/** Something sent to the workflow that it recorded but did not act on (never silently merged). */
export interface IgnoredInput {
  kind: 'reply' | 'cancel';
  reason: string;
  at: string;
}

export interface MessageStatus {
  id: string;
  state: MessageState;
  destination: string;
  attempts: AttemptRecord[];
  lastError: LastError | null;
  nextAttemptAt: string | null;
  reply: ReplyRecord | null;
  deadLetter: DeadLetterInfo | null;
  /** Set when state is `rejected`: why the input was refused. */
  rejection: { reason: string; errors: FieldError[] } | null;
  /** Set when state is `cancelled`. */
  cancellation: { reason: string; at: string } | null;
  /** How many times an operator redrove the message. */
  redrives: number;
  ignored: IgnoredInput[];
  createdAt: string;
  updatedAt: string;
}

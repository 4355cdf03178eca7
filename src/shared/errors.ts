/**
 * Named failures. Their names are Temporal failure types, so across process boundaries we compare
 * `failure.type` with these names, never `instanceof`.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { AttemptRecord } from './message-status';

/** The destination answered in a way retrying cannot fix (a 4xx other than 408/409/425/429, a redirect). */
export class PermanentDeliveryError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord) {
    super(message, 'PermanentDeliveryError', true, [attempt]);
  }
}

/** The destination URL is unusable: not a URL, or a scheme other than http/https. */
export class InvalidDestinationError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord) {
    super(message, 'InvalidDestinationError', true, [attempt]);
  }
}

/** A transient failure; `nextRetryDelay` carries the delay computed from backoff, jitter and Retry-After. */
export class RetryableDeliveryError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord, nextRetryDelayMs: number) {
    super(message, 'RetryableDeliveryError', false, [attempt], undefined, nextRetryDelayMs);
  }
}

/** Failure types the delivery activity never retries; fed to the RetryPolicy's `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_DELIVERY_ERRORS = ['PermanentDeliveryError', 'InvalidDestinationError'] as const;

/** Thrown by update validators when a reply is not accepted; the caller sees this type and message. */
export const REPLY_NOT_ACCEPTED = 'ReplyNotAcceptedError';
/** Thrown by the redrive validator when the message is not dead-lettered. */
export const REDRIVE_NOT_ALLOWED = 'RedriveNotAllowedError';
/** Thrown by the subscribe validator when a callback cannot be registered. */
export const SUBSCRIBE_NOT_ALLOWED = 'SubscribeNotAllowedError';
/** Thrown by the discard validator when the message is not a parked dead letter. */
export const DISCARD_NOT_ALLOWED = 'DiscardNotAllowedError';

/** Client-side: a message with this id exists with other content. */
export class MessageConflictError extends Error {
  override name = 'MessageConflictError';
  constructor(readonly messageId: string) {
    super(`message ${messageId} already exists with different content`);
  }
}

/** Client-side: the message failed validation before anything was sent. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
  constructor(readonly errors: { field: string; message: string }[]) {
    super(`invalid message: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  }
}

/** Client-side: no message has this id. */
export class MessageNotFoundError extends Error {
  override name = 'MessageNotFoundError';
  constructor(readonly messageId: string) {
    super(`message ${messageId} not found`);
  }
}

/** Client-side: the reply was not taken (the message expects none, already has one, has ended, or it is malformed). */
export class ReplyNotAcceptedError extends Error {
  override name = REPLY_NOT_ACCEPTED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`reply to ${messageId} not accepted: ${reason}`);
  }
}

/** Client-side: only a dead-lettered message can be redriven. */
export class RedriveNotAllowedError extends Error {
  override name = REDRIVE_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`message ${messageId} cannot be redriven: ${reason}`);
  }
}

/** Client-side: the message has already ended, so it cannot be changed (e.g. cancelled). */
export class MessageEndedError extends Error {
  override name = 'MessageEndedError';
  constructor(
    readonly messageId: string,
    readonly state: string,
  ) {
    super(`message ${messageId} has already ended (${state})`);
  }
}

/** Client-side: a callback cannot be registered for this message. */
export class SubscribeNotAllowedError extends Error {
  override name = SUBSCRIBE_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`cannot subscribe to ${messageId}: ${reason}`);
  }
}

/** Client-side: only a parked dead-lettered message can be discarded. */
export class DiscardNotAllowedError extends Error {
  override name = DISCARD_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`message ${messageId} cannot be discarded: ${reason}`);
  }
}

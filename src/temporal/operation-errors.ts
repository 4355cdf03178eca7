/**
 * Errors of the message operations over Temporal (src/temporal/message-operations.ts), mapped to HTTP by
 * api/error-mapping.ts. Those whose name is a workflow failure type carry it from contract/error-types.
 */
import {
  DISCARD_NOT_ALLOWED,
  REDRIVE_NOT_ALLOWED,
  REPLY_NOT_ACCEPTED,
  SUBSCRIBE_NOT_ALLOWED,
} from '../contract/error-types';

/** a message with this id exists with other content. */
export class MessageConflictError extends Error {
  override name = 'MessageConflictError';
  constructor(readonly messageId: string) {
    super(`message ${messageId} already exists with different content`);
  }
}

/** the message failed validation before anything was sent. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
  constructor(readonly errors: { field: string; message: string }[]) {
    super(`invalid message: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  }
}

/** no message has this id. */
export class MessageNotFoundError extends Error {
  override name = 'MessageNotFoundError';
  constructor(readonly messageId: string) {
    super(`message ${messageId} not found`);
  }
}

/** the reply was not taken (the message expects none, already has one, has ended, or it is malformed). */
export class ReplyNotAcceptedError extends Error {
  override name = REPLY_NOT_ACCEPTED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`reply to ${messageId} not accepted: ${reason}`);
  }
}

/** only a dead-lettered message can be redriven. */
export class RedriveNotAllowedError extends Error {
  override name = REDRIVE_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`message ${messageId} cannot be redriven: ${reason}`);
  }
}

/** the message has already ended, so it cannot be changed (e.g. cancelled). */
export class MessageEndedError extends Error {
  override name = 'MessageEndedError';
  constructor(
    readonly messageId: string,
    readonly state: string,
  ) {
    super(`message ${messageId} has already ended (${state})`);
  }
}

/** a callback cannot be registered for this message. */
export class SubscribeNotAllowedError extends Error {
  override name = SUBSCRIBE_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`cannot subscribe to ${messageId}: ${reason}`);
  }
}

/** only a parked dead-lettered message can be discarded. */
export class DiscardNotAllowedError extends Error {
  override name = DISCARD_NOT_ALLOWED;
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`message ${messageId} cannot be discarded: ${reason}`);
  }
}

/** a listing cursor that is not one from a previous page of the same query. */
export class InvalidListCursorError extends Error {
  override name = 'InvalidListCursorError';
  constructor() {
    super('invalid cursor');
  }
}

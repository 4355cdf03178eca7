/**
 * The outcome document a callback carries (Standard Webhooks payload shape: `type`, `timestamp`,
 * `data`). Pure: the workflow builds it from its status when the message reaches an outcome.
 */
import type { Message } from './message';
import type { MessageState, MessageStatus } from './message-status';

/** States a sender is told about: the outcomes of a message. */
export const CALLBACK_STATES: readonly MessageState[] = ['replied', 'delivered', 'dead_lettered', 'cancelled'];

export interface OutcomePayload {
  type: `message.${MessageState}`;
  timestamp: string;
  data: Pick<
    MessageStatus,
    'id' | 'state' | 'destination' | 'lastError' | 'reply' | 'deadLetter' | 'cancellation' | 'redrives'
  > & {
    attempts: number;
    lastAttempt: MessageStatus['attempts'][number] | null;
    metadata: Record<string, string> | null;
  };
}

export function outcomePayload(status: MessageStatus, message: Message, at: string): OutcomePayload {
  return {
    type: `message.${status.state}`,
    timestamp: at,
    data: {
      id: status.id,
      state: status.state,
      destination: status.destination,
      attempts: status.attempts.length,
      lastAttempt: status.attempts[status.attempts.length - 1] ?? null,
      lastError: status.lastError,
      reply: status.reply,
      deadLetter: status.deadLetter,
      cancellation: status.cancellation,
      redrives: status.redrives,
      metadata: message.metadata ?? null,
    },
  };
}

/** What a deliverCallback workflow is given. */
export interface CallbackInput {
  /** Workflow id and `webhook-id`; also the dead-letter record id if the callback never succeeds. */
  callbackId: string;
  messageId: string;
  url: string;
  sender: string | null;
  payload: unknown;
  /** The message the callback is about (kept with a dead-lettered callback). */
  message: Message;
  /** 1, or the dead-letter round + 1 when an operator replays a dead-lettered callback. */
  round: number;
}

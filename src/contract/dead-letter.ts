/**
 * A dead-letter record: what the dead-letter store keeps and the API serves (GET /v1/dead-letters).
 * One TypeBox schema; the type is `Static<>` of it. Sandbox-safe.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MessageSchema } from './message';
import { AttemptRecordSchema, DeadLetterReasonSchema, LastErrorSchema } from './message-status';

export const DeadLetterRecordStateSchema = Type.Union([
  Type.Literal('dead_lettered'),
  Type.Literal('redriven'),
  Type.Literal('discarded'),
]);
export type DeadLetterRecordState = Static<typeof DeadLetterRecordStateSchema>;

export const DeadLetterKindSchema = Type.Union([Type.Literal('message'), Type.Literal('callback')], {
  description: 'message: delivery failed; callback: telling the sender the outcome failed',
});
export type DeadLetterKind = Static<typeof DeadLetterKindSchema>;

/** A callback that never reached the sender, kept so an operator can replay it. */
export const CallbackDeadLetterSchema = Type.Object({
  messageId: Type.String(),
  url: Type.String(),
  sender: Type.Union([Type.String(), Type.Null()], { description: 'API key name whose secret signs it' }),
  payload: Type.Unknown({ description: 'the exact outcome document that was being sent' }),
});
export type CallbackDeadLetter = Static<typeof CallbackDeadLetterSchema>;

const DateTime = Type.String({ format: 'date-time' });

export const DeadLetterRecordSchema = Type.Object({
  id: Type.String({
    description: 'the message id (one record per message), or `<message id>.callback-<n>` for a callback',
  }),
  kind: DeadLetterKindSchema,
  callback: Type.Union([CallbackDeadLetterSchema, Type.Null()], { description: 'set for kind callback' }),
  message: MessageSchema,
  reason: DeadLetterReasonSchema,
  lastError: Type.Union([LastErrorSchema, Type.Null()]),
  attempts: Type.Array(AttemptRecordSchema),
  round: Type.Integer({
    description: 'the delivery round that was dead-lettered; a redriven message that fails again has a higher round',
  }),
  destination: Type.String({ description: 'destination host, for filtering' }),
  state: DeadLetterRecordStateSchema,
  messageCreatedAt: DateTime,
  deadLetteredAt: DateTime,
  redrivenAt: Type.Union([DateTime, Type.Null()]),
  redriveCount: Type.Integer(),
});
export type DeadLetterRecord = Static<typeof DeadLetterRecordSchema>;

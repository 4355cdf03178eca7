/**
 * What the message and dead-letter operations answer, as the API serves it: one TypeBox schema per
 * shape, the type `Static<>` of it, so the operations (src/temporal/) and the routes cannot drift.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MessageStateSchema } from './message-status';

/** POST /v1/messages: the message was started, or already existed with the same content. */
export const AcceptedMessageSchema = Type.Object({
  id: Type.String(),
  state: MessageStateSchema,
  existing: Type.Boolean({
    description: 'true when a message with this id and the same content already existed (nothing new was started)',
  }),
});
export type AcceptedMessage = Static<typeof AcceptedMessageSchema>;

/** One message in a listing, as Temporal visibility knows it. */
export const MessageSummarySchema = Type.Object({
  id: Type.String(),
  state: Type.Union([Type.String(), Type.Null()]),
  destination: Type.Union([Type.String(), Type.Null()]),
  workflowStatus: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  closedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type MessageSummary = Static<typeof MessageSummarySchema>;

export const MessageListSchema = Type.Object({
  items: Type.Array(MessageSummarySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type MessageList = Static<typeof MessageListSchema>;

export const RedriveResultSchema = Type.Object({
  id: Type.String(),
  mode: Type.Union([Type.Literal('resumed'), Type.Literal('restarted')], {
    description:
      'resumed: the parked workflow delivers again; restarted: its workflow had ended, a new run was started',
  }),
  state: MessageStateSchema,
  runId: Type.Optional(Type.String()),
  previousRunId: Type.Optional(Type.String()),
});
export type RedriveResult = Static<typeof RedriveResultSchema>;

export const BulkRedriveResultSchema = Type.Object({
  matched: Type.Integer(),
  redriven: Type.Integer(),
  failed: Type.Array(Type.Object({ id: Type.String(), detail: Type.String() })),
});
export type BulkRedriveResult = Static<typeof BulkRedriveResultSchema>;

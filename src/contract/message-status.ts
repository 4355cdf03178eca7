/**
 * What the `status` query answers, and the records a message accumulates on its way. Each shape is a
 * TypeBox schema and its type is `Static<>` of it: the workflow fills these types and the API serves
 * the same schemas, so a field cannot exist on one side only. Sandbox-safe (TypeBox, no Node built-in).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BlobRefSchema } from './blob-ref';
import { FieldErrorSchema } from './field-error';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = (description?: string) =>
  Type.String(description ? { format: 'date-time', description } : { format: 'date-time' });

export const MESSAGE_STATES = [
  'accepted',
  'delivering',
  /**
   * Held before an attempt: its destination is paused, its breaker open, or retries are switched off.
   * No attempt is spent while held; the deadline keeps counting.
   */
  'paused',
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
export const MessageStateSchema = Type.Union(MESSAGE_STATES.map((state) => Type.Literal(state)));
export type MessageState = Static<typeof MessageStateSchema>;

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

/** Whether the message's outcome is settled. */
export function isTerminal(state: MessageState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Whether a run ends in `state`: every terminal state but `dead_lettered`, which parks for a redrive. */
export function endsTheRun(state: MessageState): boolean {
  return isTerminal(state) && state !== 'dead_lettered';
}

export const AttemptOutcomeSchema = Type.Union([
  Type.Literal('delivered'),
  Type.Literal('retryable'),
  Type.Literal('permanent'),
]);
export type AttemptOutcome = Static<typeof AttemptOutcomeSchema>;

/** One HTTP attempt, as the delivery activity saw it. */
export const AttemptRecordSchema = Type.Object({
  round: Type.Integer({ description: 'delivery round: 1 for the first delivery, +1 for each redrive' }),
  attempt: Type.Integer({ description: 'Temporal’s attempt number within the round, from 1' }),
  outcome: AttemptOutcomeSchema,
  status: Type.Optional(Type.Integer({ description: 'HTTP status, when a response arrived' })),
  errorType: Type.Optional(
    Type.String({ description: 'failure type (the Temporal failure type, e.g. RetryableDeliveryError)' }),
  ),
  cause: Type.Optional(
    Type.String({ description: 'short machine-readable cause: http_503, connection_refused, timeout, …' }),
  ),
  error: Type.Optional(Type.String()),
  responseExcerpt: Type.Optional(Type.String({ description: 'first bytes of the response body (bounded by config)' })),
  durationMs: Type.Number(),
  nextDelayMs: Nullable(
    Type.Number({
      description: 'the delay before the next attempt when this one is retried; null when it was the last',
    }),
  ),
  startedAt: DateTime(),
  finishedAt: DateTime(),
});
export type AttemptRecord = Static<typeof AttemptRecordSchema>;

const replyFields = {
  body: Type.Unknown({ description: 'the reply body (any JSON)' }),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
};

/** A reply's identity, set by the API from the signed request: an identical resend carries the same two. */
const replyIdentityFields = {
  webhookId: Type.Optional(Type.String({ description: 'the signed `webhook-id` the reply came with' })),
  bodyHash: Type.Optional(Type.String({ description: 'SHA-256 (hex) of the raw request body the reply came in' })),
};

/** A reply as a replier POSTs it (the body of POST /v1/messages/{id}/reply). */
export const ReplyBodySchema = Type.Object(replyFields, { additionalProperties: false });
export type ReplyBody = Static<typeof ReplyBodySchema>;

/**
 * A reply body above HERALD_INLINE_BODY_BYTES, kept in the blob store: the reply carries `bodyRef`
 * instead of `body`, and GET /v1/messages/{id}/reply/body (or the pointer in a callback) serves it.
 */
const storedReplyFields = {
  body: Type.Optional(replyFields.body),
  bodyRef: Type.Optional(BlobRefSchema),
};

/** A downstream's reply, as it is handed to the workflow (with its identity when it came through the API). */
export const ReplyInputSchema = Type.Object(
  { ...replyFields, ...storedReplyFields, ...replyIdentityFields },
  { additionalProperties: false },
);
export type ReplyInput = Static<typeof ReplyInputSchema>;

/** Whether `a` and `b` are the same signed reply (the same webhook-id and body); never for replies without an id. */
export function isSameReply(a: ReplyInput | null | undefined, b: ReplyInput | null | undefined): boolean {
  if (!a?.webhookId || !b?.webhookId) return false;
  return a.webhookId === b.webhookId && a.bodyHash === b.bodyHash;
}

/** A reply the message took. */
export const ReplyRecordSchema = Type.Object({
  ...replyFields,
  ...storedReplyFields,
  ...replyIdentityFields,
  receivedAt: DateTime(),
  via: Type.Union([Type.Literal('signal'), Type.Literal('update')]),
});
export type ReplyRecord = Static<typeof ReplyRecordSchema>;

export const DEAD_LETTER_REASONS = [
  'max_attempts_exhausted',
  'permanent_error',
  'deadline_exceeded',
  'reply_timeout',
  // A callback to the sender never succeeded (the record's kind is `callback`).
  'callback_failed',
] as const;
export const DeadLetterReasonSchema = Type.Union(DEAD_LETTER_REASONS.map((reason) => Type.Literal(reason)));
export type DeadLetterReason = Static<typeof DeadLetterReasonSchema>;

/** Why and since when a message is parked as a dead letter. */
export const DeadLetterInfoSchema = Type.Object({
  reason: DeadLetterReasonSchema,
  at: DateTime(),
  round: Type.Integer(),
  retainedUntil: DateTime('when the parked workflow completes if nobody redrives it'),
  discardedAt: Type.Optional(DateTime('set when an operator discarded the dead letter')),
});
export type DeadLetterInfo = Static<typeof DeadLetterInfoSchema>;

export const LastErrorSchema = Type.Object({ type: Type.String(), message: Type.String() });
export type LastError = Static<typeof LastErrorSchema>;

/** Something sent to the workflow that it recorded but did not act on (never silently merged). */
export const IgnoredInputSchema = Type.Object({
  kind: Type.Union([Type.Literal('reply'), Type.Literal('cancel')]),
  reason: Type.String(),
  at: DateTime(),
});
export type IgnoredInput = Static<typeof IgnoredInputSchema>;

export const HOLD_REASONS = ['destination_paused', 'circuit_open', 'retries_off'] as const;
export const HoldReasonSchema = Type.Union(HOLD_REASONS.map((reason) => Type.Literal(reason)));
export type HoldReason = Static<typeof HoldReasonSchema>;

/** Why a message is `paused`: what holds its next attempt, since when, and when it looks again. */
export const HoldSchema = Type.Object({
  reason: HoldReasonSchema,
  since: DateTime(),
  checksAgainAt: DateTime('when the delivery next asks whether it may go (a resume can wake it sooner)'),
});
export type Hold = Static<typeof HoldSchema>;
/** Where a message with an ordering key stands in its key's chain (see README, Ordered delivery). */
export const OrderingStatusSchema = Type.Object({
  key: Type.String(),
  predecessor: Nullable(
    Type.String({ description: 'the message accepted just before this one on its key; null for the first' }),
  ),
  seq: Type.Integer({ description: 'this message’s place on its key, from 1, in acceptance order' }),
  waiting: Type.Boolean({ description: 'true while delivery waits for the predecessor to be released' }),
  onDeadLetter: Type.Union([Type.Literal('skip'), Type.Literal('block')], {
    description: 'what this message being dead-lettered does to its successor',
  }),
});
export type OrderingStatus = Static<typeof OrderingStatusSchema>;

const messageStatusFields = {
  id: Type.String(),
  state: MessageStateSchema,
  destination: Type.String(),
  attempts: Type.Array(AttemptRecordSchema),
  lastError: Nullable(LastErrorSchema),
  nextAttemptAt: Nullable(DateTime()),
  reply: Nullable(ReplyRecordSchema),
  deadLetter: Nullable(DeadLetterInfoSchema),
  rejection: Nullable(
    Type.Object(
      { reason: Type.String(), errors: Type.Array(FieldErrorSchema) },
      { description: 'set when state is rejected: why the input was refused' },
    ),
  ),
  cancellation: Nullable(
    Type.Object({ reason: Type.String(), at: DateTime() }, { description: 'set when state is cancelled' }),
  ),
  redrives: Type.Integer({ description: 'how many times an operator redrove the message' }),
  hold: Type.Optional(Nullable(HoldSchema)),
  ordering: Type.Optional(
    Type.Union([OrderingStatusSchema, Type.Null()], {
      description: 'set for a message with an orderingKey; null without one (absent from runs of older versions)',
    }),
  ),
  ignored: Type.Array(IgnoredInputSchema),
  createdAt: DateTime(),
  updatedAt: DateTime(),
};

/** The workflow's `status` query answer. */
export const MessageStatusSchema = Type.Object(messageStatusFields);
export type MessageStatus = Static<typeof MessageStatusSchema>;

/** A status as the API serves it (GET /v1/messages/{id}): the workflow's status and where it was read from. */
export const MessageStatusWithSourceSchema = Type.Object({
  ...messageStatusFields,
  source: Type.Union([Type.Literal('workflow'), Type.Literal('visibility')], {
    description:
      'workflow: answered by the workflow; visibility: no worker answered, read from Temporal and the dead-letter store',
  }),
  note: Type.Optional(Type.String()),
});
export type MessageStatusWithSource = Static<typeof MessageStatusWithSourceSchema>;

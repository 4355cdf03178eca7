/**
 * Route schemas (TypeBox): request validation, response serialisation and the OpenAPI document all
 * come from these, so the documentation cannot drift from what the API does.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { MESSAGE_ID_PATTERN, MessageInputSchema, MessageSchema } from '../contract/message';
import { MESSAGE_STATES } from '../contract/message-status';
import { ProblemError } from './problem';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });

/**
 * A page size in a query string. Query values arrive as strings and the API does no type coercion
 * (so "5" is never silently a number in a JSON body), hence a digit pattern here, parsed by `pageLimit`.
 */
const PageLimit = (max: number, fallback: number) =>
  Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: `1 to ${max}, default ${fallback}` });

/**
 * A query's date-time as ISO. The format check lets through what Date cannot represent (a leap second,
 * `…T23:59:60Z`); that is a 400 naming the field, not a crash.
 */
export function isoTime(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new ProblemError('validation-failed', 'the request does not match the schema', {
      errors: [{ field: `query:/${field}`, message: 'is not a representable date-time' }],
    });
  }
  return new Date(ms).toISOString();
}

/** Parses a PageLimit value, or throws a 400 naming the field when it is over the maximum. */
export function pageLimit(raw: string | undefined, max: number, fallback: number): number {
  const value = raw === undefined ? fallback : Number(raw);
  if (value > max) {
    throw new ProblemError('validation-failed', 'the request does not match the schema', {
      errors: [{ field: 'query:/limit', message: `must be <= ${max}` }],
    });
  }
  return value;
}

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'stable problem type, urn:herald:problem:<kind>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const MessageStateSchema = Type.Union(MESSAGE_STATES.map((state) => Type.Literal(state)));

export const AttemptSchema = Type.Object({
  round: Type.Integer(),
  attempt: Type.Integer(),
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retryable'), Type.Literal('permanent')]),
  status: Type.Optional(Type.Integer()),
  errorType: Type.Optional(Type.String()),
  cause: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  responseExcerpt: Type.Optional(Type.String()),
  durationMs: Type.Number(),
  nextDelayMs: Nullable(Type.Number()),
  startedAt: DateTime,
  finishedAt: DateTime,
});

const ReplyFields = {
  body: Type.Unknown({ description: 'the reply body (any JSON)' }),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
};

export const ReplyInputSchema = Type.Object(ReplyFields, { additionalProperties: false });

const ReplyRecordSchema = Type.Object({
  ...ReplyFields,
  receivedAt: DateTime,
  via: Type.Union([Type.Literal('signal'), Type.Literal('update')]),
});

const LastErrorSchema = Type.Object({ type: Type.String(), message: Type.String() });

export const MessageStatusSchema = Type.Object({
  id: Type.String(),
  state: MessageStateSchema,
  destination: Type.String(),
  attempts: Type.Array(AttemptSchema),
  lastError: Nullable(LastErrorSchema),
  nextAttemptAt: Nullable(DateTime),
  reply: Nullable(ReplyRecordSchema),
  deadLetter: Nullable(
    Type.Object({
      reason: Type.String(),
      at: DateTime,
      round: Type.Integer(),
      retainedUntil: DateTime,
      discardedAt: Type.Optional(DateTime),
    }),
  ),
  rejection: Nullable(
    Type.Object({
      reason: Type.String(),
      errors: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
    }),
  ),
  cancellation: Nullable(Type.Object({ reason: Type.String(), at: DateTime })),
  redrives: Type.Integer(),
  ignored: Type.Array(Type.Object({ kind: Type.String(), reason: Type.String(), at: DateTime })),
  createdAt: DateTime,
  updatedAt: DateTime,
  source: Type.Union([Type.Literal('workflow'), Type.Literal('visibility')], {
    description:
      'workflow: answered by the workflow; visibility: no worker answered, read from Temporal and the dead-letter store',
  }),
  note: Type.Optional(Type.String()),
});

export const AcceptedSchema = Type.Object({ id: Type.String(), state: MessageStateSchema, existing: Type.Boolean() });

export const MessageSummarySchema = Type.Object({
  id: Type.String(),
  state: Nullable(Type.String()),
  destination: Nullable(Type.String()),
  workflowStatus: Type.String(),
  startedAt: DateTime,
  closedAt: Nullable(DateTime),
});

export const MessageListSchema = Type.Object({
  items: Type.Array(MessageSummarySchema),
  nextCursor: Nullable(Type.String()),
});

export const IdParamsSchema = Type.Object({ id: Type.String({ pattern: MESSAGE_ID_PATTERN }) });

export const ListMessagesQuerySchema = Type.Object(
  {
    state: Type.Optional(MessageStateSchema),
    destination: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]_-]+$', description: 'host or host:port' })),
    since: Type.Optional(DateTime),
    limit: Type.Optional(PageLimit(100, 20)),
    cursor: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);

export const CancelInputSchema = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const DEAD_LETTER_REASONS = [
  'max_attempts_exhausted',
  'permanent_error',
  'deadline_exceeded',
  'reply_timeout',
  'callback_failed',
] as const;
const DeadLetterReasonSchema = Type.Union(DEAD_LETTER_REASONS.map((reason) => Type.Literal(reason)));

export const DeadLetterSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('message'), Type.Literal('callback')], {
    description: 'message: delivery failed; callback: telling the sender the outcome failed',
  }),
  callback: Nullable(
    Type.Object({
      messageId: Type.String(),
      url: Type.String(),
      sender: Nullable(Type.String()),
      payload: Type.Unknown(),
    }),
  ),
  message: MessageSchema,
  reason: DeadLetterReasonSchema,
  lastError: Nullable(LastErrorSchema),
  attempts: Type.Array(AttemptSchema),
  round: Type.Integer(),
  destination: Type.String(),
  state: Type.Union([Type.Literal('dead_lettered'), Type.Literal('redriven'), Type.Literal('discarded')]),
  messageCreatedAt: DateTime,
  deadLetteredAt: DateTime,
  redrivenAt: Nullable(DateTime),
  redriveCount: Type.Integer(),
});

const DeadLetterFilterFields = {
  kind: Type.Optional(Type.Union([Type.Literal('message'), Type.Literal('callback')])),
  reason: Type.Optional(DeadLetterReasonSchema),
  destination: Type.Optional(Type.String({ maxLength: 300 })),
  since: Type.Optional(DateTime),
  until: Type.Optional(DateTime),
};

export const ListDeadLettersQuerySchema = Type.Object(
  {
    ...DeadLetterFilterFields,
    state: Type.Optional(
      Type.Union([Type.Literal('dead_lettered'), Type.Literal('redriven'), Type.Literal('discarded')]),
    ),
    limit: Type.Optional(PageLimit(500, 50)),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const DeadLetterListSchema = Type.Object({
  items: Type.Array(DeadLetterSchema),
  nextCursor: Nullable(Type.String()),
});

export const BulkRedriveInputSchema = Type.Object(
  {
    ...DeadLetterFilterFields,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
    all: Type.Optional(
      Type.Boolean({ description: 'true to redrive every parked dead letter; required when no filter is given' }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'true to answer how many match and redrive nothing' })),
  },
  {
    additionalProperties: false,
    description: 'at least one filter (kind, reason, destination, since, until), or all: true',
  },
);

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

export const BulkRedriveResultSchema = Type.Object({
  matched: Type.Integer({
    description: 'parked dead letters matching the filters (up to limit): what is, or would be, redriven',
  }),
  redriven: Type.Integer(),
  failed: Type.Array(Type.Object({ id: Type.String(), detail: Type.String() })),
});

export const DiscardResultSchema = Type.Object({ id: Type.String(), state: Type.Literal('discarded') });

export { MessageInputSchema };

/**
 * Error responses for a route, documented as `application/problem+json` (what the error handler sends).
 */
export function problemResponses(...codes: number[]) {
  return Object.fromEntries(
    codes.map((code) => [
      code,
      { description: 'RFC 9457 problem details', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}

/**
 * Route schemas (TypeBox): request validation, response serialisation and the OpenAPI document all
 * come from these, so the documentation cannot drift from what the API does.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { DeadLetterKindSchema, DeadLetterRecordSchema, DeadLetterRecordStateSchema } from '../contract/dead-letter';
import { FieldErrorSchema } from '../contract/field-error';
import { MESSAGE_ID_PATTERN } from '../contract/message';
import { DEAD_LETTER_REASONS, DeadLetterReasonSchema, MessageStateSchema } from '../contract/message-status';
import { ProblemError } from './problem';

// Shapes the workflow, the store and the client share (message, status, dead letter) are schemas in
// src/contract/, which routes use as they are: Fastify's serializer drops any field a response schema
// lacks, so a second copy here would drift. The CLI reads the reasons from here.
export { DEAD_LETTER_REASONS };

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
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

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

const DeadLetterFilterFields = {
  kind: Type.Optional(DeadLetterKindSchema),
  reason: Type.Optional(DeadLetterReasonSchema),
  destination: Type.Optional(Type.String({ maxLength: 300 })),
  since: Type.Optional(DateTime),
  until: Type.Optional(DateTime),
};

export const ListDeadLettersQuerySchema = Type.Object(
  {
    ...DeadLetterFilterFields,
    state: Type.Optional(DeadLetterRecordStateSchema),
    limit: Type.Optional(PageLimit(500, 50)),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const DeadLetterListSchema = Type.Object({
  items: Type.Array(DeadLetterRecordSchema),
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

export const DiscardResultSchema = Type.Object({ id: Type.String(), state: Type.Literal('discarded') });

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

/**
 * The 429 a new message gets while Temporal is behind (admission control) or its key is at its
 * in-flight limit, and any request of a key beyond its request rate: why, and when to come back.
 */
export const RateLimitedProblemSchema = Type.Object(
  {
    type: Type.Literal('urn:herald:problem:rate-limited'),
    title: Type.String(),
    status: Type.Literal(429),
    detail: Type.String({
      description:
        'why, e.g. "Temporal is behind: the workflow task backlog is 3.2 s old (limit 2.0 s); retry after 2 s"',
    }),
    instance: Type.Optional(Type.String()),
    reason: Type.Union(
      [
        Type.Literal('backlog'),
        Type.Literal('start-latency'),
        Type.Literal('starts-in-flight'),
        Type.Literal('key-request-rate'),
        Type.Literal('key-in-flight'),
      ],
      {
        description:
          "backlog: tasks wait for Herald's workers; start-latency: Temporal answers starts slowly; starts-in-flight: this API host has as many starts under way as it allows; key-request-rate: the API key made more requests than HERALD_RATE_LIMIT allows; key-in-flight: the API key has HERALD_MAX_IN_FLIGHT_PER_KEY messages not yet settled",
      },
    ),
    inFlight: Type.Optional(Type.Integer({ description: 'key-in-flight: how many messages the key has in flight' })),
    retryAfterSeconds: Type.Integer({ minimum: 1, description: 'the same as the Retry-After header' }),
    backlog: Type.Optional(
      Type.Object({
        workflowTasks: Type.Integer(),
        workflowTaskAgeMs: Type.Integer(),
        activityTasks: Type.Integer(),
        activityTaskAgeMs: Type.Integer(),
      }),
    ),
    startLatencyP95Ms: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** A 429 response from admission control, with its Retry-After header. */
export function rateLimitedResponse() {
  return {
    429: {
      description:
        'Not accepted now: Temporal is behind, or the API key is at its in-flight limit (a new message only: a resend of an existing id never is), or the key made more requests than its rate limit (any request). Send it again (same id) after Retry-After seconds.',
      headers: { 'retry-after': { type: 'integer', minimum: 1, description: 'seconds to wait before sending again' } },
      content: { 'application/problem+json': { schema: RateLimitedProblemSchema } },
    },
  };
}

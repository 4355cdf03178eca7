/**
 * The message contract: one typed schema used by the workflow, the API and the client.
 * Pure (no Node built-ins), because the workflow validates its own input with it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BlobRefSchema } from './blob-ref';
import { DURATION_PATTERN } from './duration';
import type { FieldError } from './field-error';
import { contentTypeErrors, destinationHeaderErrors, HEADER_NAME_PATTERN } from './header-rules';
import { urlErrors } from './url-rules';

/** Sender-supplied ids are accepted as correlation keys; Herald's own are `msg_` + 26 random characters. */
export const MESSAGE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:~-]{0,199}$';

export const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'] as const;

export const DurationSchema = Type.Union([
  Type.String({ pattern: DURATION_PATTERN, description: 'e.g. "500ms", "30s", "5m", "2h", "7d"' }),
  Type.Integer({ minimum: 0, description: 'milliseconds' }),
]);

export const RetryOverridesSchema = Type.Object(
  {
    initialInterval: Type.Optional(DurationSchema),
    backoffCoefficient: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    maximumInterval: Type.Optional(DurationSchema),
    maximumAttempts: Type.Optional(Type.Integer({ minimum: 1 })),
    jitter: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'fraction of each delay randomised away' }),
    ),
    attemptTimeout: Type.Optional(DurationSchema),
    deadline: Type.Optional(DurationSchema),
  },
  { additionalProperties: false },
);

export const DestinationSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    method: Type.Optional(Type.Union(HTTP_METHODS.map((method) => Type.Literal(method)))),
    headers: Type.Optional(
      // Header names are RFC 9110 tokens; anything else is refused rather than sent mangled.
      Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN }), Type.String({ maxLength: 8192 }), {
        additionalProperties: false,
        description:
          'names are RFC 9110 tokens, each once in any case; values without control characters; transport headers (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, TE, Trailer, Keep-Alive, Expect, Proxy-*) are refused',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReplyExpectationSchema = Type.Object(
  { timeout: DurationSchema },
  { additionalProperties: false, description: 'present when the destination is expected to reply' },
);

/** What a dead-lettered head of an ordering key does to the messages behind it (see README, Ordered delivery). */
export const ORDERING_DEAD_LETTER_MODES = ['skip', 'block'] as const;
export type OrderingDeadLetterMode = (typeof ORDERING_DEAD_LETTER_MODES)[number];

/** An ordering key: printable text (no control characters), so it is safe in logs, status and SQL keys. */
export const ORDERING_KEY_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$';

export const CallbackSchema = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 2048 }) },
  { additionalProperties: false },
);

const messageFields = {
  destination: DestinationSchema,
  body: Type.Optional(Type.Unknown({ description: 'JSON body; sent as application/json' })),
  bodyBase64: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'raw body, base64' })),
  contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  retry: Type.Optional(RetryOverridesSchema),
  reply: Type.Optional(ReplyExpectationSchema),
  callback: Type.Optional(CallbackSchema),
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }))),
  orderingKey: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: ORDERING_KEY_PATTERN,
      description: 'messages with the same key and destination host are delivered in acceptance order, one at a time',
    }),
  ),
  orderingDeadLetter: Type.Optional(
    Type.Union(
      ORDERING_DEAD_LETTER_MODES.map((mode) => Type.Literal(mode)),
      {
        description:
          'when this message is dead-lettered: skip (the next message of its key goes) or block (it waits for a redrive to succeed, a discard or the end of retention); default HERALD_ORDERING_DEAD_LETTER',
      },
    ),
  ),
};

/** A message as the workflow receives it: the id is always present (it is the workflow id). */
export const MessageSchema = Type.Object(
  {
    id: Type.String({ pattern: MESSAGE_ID_PATTERN }),
    /** Name of the API key that sent it (set by the API, never by the sender); selects the callback secret. */
    sender: Type.Optional(Type.String({ maxLength: 100 })),
    /** A body too large to ride in the history: kept in the blob store (set by the API, never by the sender). */
    bodyRef: Type.Optional(BlobRefSchema),
    ...messageFields,
  },
  { additionalProperties: false },
);
export type Message = Static<typeof MessageSchema>;

/** A message as a sender submits it: without an id, Herald generates one. */
export const MessageInputSchema = Type.Object(
  { id: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN })), ...messageFields },
  { additionalProperties: false },
);
export type MessageInput = Static<typeof MessageInputSchema>;

export type { FieldError };

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Checks a message against the schema and the rules a schema cannot say. `wireRules: false` leaves out
 * the wire rules, for a workflow that started before they existed (see deliverMessage).
 */
export function validateMessage(input: unknown, options: { wireRules?: boolean } = {}): Validated<Message> {
  if (!Value.Check(MessageSchema, input)) {
    return { ok: false, errors: schemaErrors(MessageSchema, input) };
  }
  const errors = [...crossFieldErrors(input), ...(options.wireRules === false ? [] : wireRuleErrors(input))];
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: input };
}

/**
 * The wire rules: the URLs and headers of a schema-valid message must go on the wire exactly as given
 * (see header-rules.ts and url-rules.ts), or the message is refused rather than sent rewritten.
 */
export function wireRuleErrors(message: MessageInput): FieldError[] {
  return [
    ...urlErrors(message.destination.url, '/destination/url'),
    ...destinationHeaderErrors(message.destination.headers ?? {}),
    ...contentTypeErrors(message.destination.headers ?? {}, message.contentType),
    ...(message.callback ? urlErrors(message.callback.url, '/callback/url') : []),
  ];
}

/** Schema errors, one per field (TypeBox reports each failing union branch; the first is the clearest). */
export function schemaErrors(schema: Parameters<typeof Value.Errors>[0], input: unknown): FieldError[] {
  const byField = new Map<string, string>();
  for (const error of Value.Errors(schema, input)) {
    const field = error.path || '/';
    if (!byField.has(field)) byField.set(field, error.message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

function crossFieldErrors(message: MessageInput | Message): FieldError[] {
  const errors: FieldError[] = [];
  if (message.body !== undefined && message.bodyBase64 !== undefined) {
    errors.push({ field: '/bodyBase64', message: 'give either body (JSON) or bodyBase64, not both' });
  }
  if ('bodyRef' in message && message.bodyRef !== undefined) {
    if (message.body !== undefined || message.bodyBase64 !== undefined) {
      errors.push({ field: '/bodyRef', message: 'a body by reference goes without body or bodyBase64' });
    }
  }
  // `<id>.callback-…` names a message's callback workflows; a message may not take such an id.
  if (message.id?.includes('.callback-')) {
    errors.push({ field: '/id', message: 'must not contain ".callback-" (reserved for callbacks)' });
  }
  if (message.orderingDeadLetter !== undefined && message.orderingKey === undefined) {
    errors.push({ field: '/orderingDeadLetter', message: 'only with orderingKey' });
  }
  if (message.bodyBase64 !== undefined && message.contentType === undefined) {
    errors.push({ field: '/contentType', message: 'contentType is required with bodyBase64' });
  }
  if (message.bodyBase64 !== undefined && message.bodyBase64.length % 4 !== 0) {
    errors.push({ field: '/bodyBase64', message: 'not valid base64 (length must be a multiple of 4)' });
  }
  return errors;
}

/** The destination's host, as shown in HeraldDestination and the dead-letter store; '' when the URL is unusable. */
export function destinationHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

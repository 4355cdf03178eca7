/** The one place errors become HTTP problems. Anything unrecognised is a 500 that says nothing of internals. */
import { BlobNotFoundError, BlobTooLargeError } from '../blobs/blob-store';
import { SealedValueError } from '../encryption/aes-gcm';
import {
  DiscardNotAllowedError,
  InvalidListCursorError,
  InvalidMessageError,
  MessageConflictError,
  MessageEndedError,
  MessageNotFoundError,
  RedriveNotAllowedError,
  ReplyNotAcceptedError,
  SubscribeNotAllowedError,
} from '../temporal/operation-errors';
import { temporalFailureKind } from '../temporal/temporal-errors';
import type { FieldError } from '../contract/message';
import { InvalidCursorError } from '../store/dead-letter-store';
import { PROBLEMS, ProblemError, type ProblemKind } from './problem';
import { isStoreUnavailable } from '../store/store-errors';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: AjvError[];
  validationContext?: string;
  message: string;
}

/** Maps any thrown error to a problem. */
export function problemFromError(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  const err = error as FastifyLikeError;
  if (err.validation) {
    return new ProblemError('validation-failed', 'the request does not match the schema', {
      errors: fieldErrors(err.validation, err.validationContext ?? 'body'),
    });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError('payload-too-large', err.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError(
        'unsupported-media-type',
        'send application/json (or multipart/form-data to POST /v1/messages, for a large body)',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ProblemError('invalid-json', err.message);
  }
  if (error instanceof InvalidMessageError) {
    return new ProblemError('validation-failed', 'the message is invalid', { errors: error.errors });
  }
  if (error instanceof MessageNotFoundError) return new ProblemError('not-found', error.message);
  if (error instanceof BlobTooLargeError) return new ProblemError('payload-too-large', error.message);
  if (error instanceof BlobNotFoundError) return new ProblemError('not-found', error.message);
  // A record or payload under a key this host does not hold: a key retired too early, or hosts out of step.
  if (error instanceof SealedValueError) return new ProblemError('payload-not-decodable', error.message);
  if (error instanceof MessageConflictError) return new ProblemError('conflict', error.message);
  if (error instanceof ReplyNotAcceptedError) return new ProblemError('reply-not-accepted', error.reason);
  if (error instanceof RedriveNotAllowedError) return new ProblemError('redrive-not-allowed', error.reason);
  if (error instanceof DiscardNotAllowedError) return new ProblemError('redrive-not-allowed', error.reason);
  if (error instanceof MessageEndedError) return new ProblemError('message-ended', error.message);
  if (error instanceof SubscribeNotAllowedError) return new ProblemError('subscribe-not-allowed', error.reason);
  if (error instanceof InvalidCursorError) {
    return new ProblemError('validation-failed', 'invalid cursor', {
      errors: [{ field: 'cursor', message: 'invalid cursor' }],
    });
  }
  if (error instanceof InvalidListCursorError) {
    return new ProblemError('validation-failed', 'invalid cursor', {
      errors: [{ field: 'query:/cursor', message: 'is not a cursor from a previous page of this same query' }],
    });
  }
  if (isStoreUnavailable(error)) {
    return new ProblemError('store-unavailable', 'the store could not do this just now; try again shortly');
  }
  switch (temporalFailureKind(error)) {
    case 'not-found':
      return new ProblemError('not-found', 'no such message');
    case 'already-started':
      return new ProblemError('redrive-not-allowed', 'a run for this id is already under way');
    case 'invalid-argument':
      return new ProblemError(
        'validation-failed',
        'Temporal refused the request arguments (for example, a cursor that is not one of ours)',
      );
    case 'unavailable':
      // Transient (Temporal down or slow, the workflow's task failing or busy): a 503 to retry, never a 500.
      return new ProblemError('temporal-unavailable', 'Temporal could not do this just now; try again shortly');
  }
  // Any other 4xx Fastify raised on its own (e.g. a malformed header) is still the client's mistake.
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    const kind =
      err.statusCode === 400
        ? 'validation-failed'
        : (Object.keys(PROBLEMS) as ProblemKind[]).find((k) => PROBLEMS[k].status === err.statusCode);
    return new ProblemError(kind ?? 'validation-failed', err.message);
  }
  return new ProblemError('internal-error', 'something went wrong on our side; it has been logged');
}

/** Ajv errors as JSON pointers to the failing field, prefixed by where it was (`query:`, `params:`, `headers:`). */
function fieldErrors(errors: AjvError[], context: string): FieldError[] {
  const prefix = context === 'body' ? '' : `${context === 'querystring' ? 'query' : context}:`;
  const byField = new Map<string, string>();
  for (const error of errors) {
    let field = error.instancePath || '';
    if (error.keyword === 'required') field += `/${String(error.params.missingProperty)}`;
    if (error.keyword === 'additionalProperties') field += `/${String(error.params.additionalProperty)}`;
    const key = `${prefix}${field || '/'}`;
    const message = error.keyword === 'additionalProperties' ? 'is not a known field' : (error.message ?? 'is invalid');
    // Unions report one error per branch; the first is the most useful.
    if (!byField.has(key)) byField.set(key, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

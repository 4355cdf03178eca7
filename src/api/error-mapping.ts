/** The one place errors become HTTP problems. Anything unrecognised is a 500 that says nothing of internals. */
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  DiscardNotAllowedError,
  InvalidMessageError,
  MessageConflictError,
  MessageEndedError,
  MessageNotFoundError,
  RedriveNotAllowedError,
  ReplyNotAcceptedError,
  SubscribeNotAllowedError,
} from '../temporal/operation-errors';
import type { FieldError } from '../contract/message';
import { InvalidCursorError } from '../store/sqlite-dead-letter-store';
import { PROBLEMS, ProblemError, type ProblemKind } from './problem';

/** gRPC status codes Temporal answers with (google.rpc.Code). */
const GrpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

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
      return new ProblemError('unsupported-media-type', 'send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ProblemError('invalid-json', err.message);
  }
  if (error instanceof InvalidMessageError) {
    return new ProblemError('validation-failed', 'the message is invalid', { errors: error.errors });
  }
  if (error instanceof MessageNotFoundError || error instanceof WorkflowNotFoundError) {
    return new ProblemError('not-found', error.message);
  }
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
  if (error instanceof WorkflowExecutionAlreadyStartedError) {
    return new ProblemError('redrive-not-allowed', 'a run for this id is already under way');
  }
  // Temporal's errors: the SDK's ServiceError wraps the gRPC error; raw workflowService calls throw it bare.
  const grpcCode =
    error instanceof ServiceError
      ? (error.cause as { code?: number } | undefined)?.code
      : typeof (error as { code?: unknown }).code === 'number' && 'details' in (error as object)
        ? (error as { code: number }).code
        : undefined;
  if (grpcCode !== undefined) {
    const code = grpcCode;
    if (code === GrpcStatus.NOT_FOUND) return new ProblemError('not-found', 'no such message');
    if (code === GrpcStatus.INVALID_ARGUMENT)
      return new ProblemError(
        'validation-failed',
        'Temporal refused the request arguments (for example, a cursor that is not one of ours)',
      );
    if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
      return new ProblemError('temporal-unavailable', 'Temporal did not answer; try again shortly');
    }
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

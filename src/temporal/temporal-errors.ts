/**
 * How Temporal's own errors are recognised: in one place, so the rest of Herald asks a question
 * ("is this not found?") instead of testing SDK classes, error names or gRPC codes itself.
 */
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';

/** gRPC status codes Temporal answers with (google.rpc.Code). */
const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
} as const;

/**
 * FAILED_PRECONDITION answers that pass on their own: the workflow's task is failing (a worker bug or
 * crash being retried) or it has too many updates in flight. gRPC has no finer code, so the server's
 * text is the only way to tell these from a precondition that will not change.
 */
const TRANSIENT_PRECONDITION = /workflow task|workflow is busy|too many (outstanding|in-flight|concurrent)/i;

/** What went wrong in a call to Temporal, as far as a caller needs to tell ('unavailable': transient, retry). */
export type TemporalFailureKind = 'not-found' | 'already-started' | 'invalid-argument' | 'unavailable';

/**
 * The gRPC status of a failed Temporal call: the SDK's ServiceError wraps the gRPC error; raw
 * workflowService calls throw it bare (a numeric `code` with `details`).
 */
function grpcError(error: unknown): { code: number; details: string } | undefined {
  const bare = error instanceof ServiceError ? error.cause : error;
  if (typeof bare !== 'object' || bare === null) return undefined;
  const { code, details, message } = bare as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof code !== 'number') return undefined;
  if (!(error instanceof ServiceError) && details === undefined) return undefined;
  return {
    code,
    details: `${typeof details === 'string' ? details : ''} ${typeof message === 'string' ? message : ''}`,
  };
}

/** The kind of a Temporal failure, or undefined when `error` is not one Herald tells apart. */
export function temporalFailureKind(error: unknown): TemporalFailureKind | undefined {
  if (error instanceof WorkflowNotFoundError) return 'not-found';
  if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
  // The update RPC's own deadline passed (or it was cancelled): the update may not have reached the workflow.
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return 'unavailable';
  const grpc = grpcError(error);
  if (grpc?.code === GrpcStatus.FAILED_PRECONDITION) {
    return TRANSIENT_PRECONDITION.test(grpc.details) ? 'unavailable' : undefined;
  }
  switch (grpc?.code) {
    case GrpcStatus.NOT_FOUND:
      return 'not-found';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'invalid-argument';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'unavailable';
    default:
      return undefined;
  }
}

/**
 * Whether a Temporal call failed for a reason that passes (Temporal or the workflow's task busy, down
 * or slow): the caller may retry, and the request may not have reached the workflow.
 */
export function isTransient(error: unknown): boolean {
  return temporalFailureKind(error) === 'unavailable';
}

/** Whether a Temporal call failed because there is no such workflow (SDK error or bare gRPC NOT_FOUND). */
export function isNotFound(error: unknown): boolean {
  return temporalFailureKind(error) === 'not-found';
}

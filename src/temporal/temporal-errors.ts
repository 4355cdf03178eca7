/**
 * How Temporal's own errors are recognised: in one place, so the rest of Herald asks a question
 * ("is this not found?") instead of testing SDK classes, error names or gRPC codes itself.
 */
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';

/** gRPC status codes Temporal answers with (google.rpc.Code). */
const GrpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

/** What went wrong in a call to Temporal, as far as a caller needs to tell. */
export type TemporalFailureKind = 'not-found' | 'already-started' | 'invalid-argument' | 'unavailable';

/**
 * The gRPC status of a failed Temporal call: the SDK's ServiceError wraps the gRPC error; raw
 * workflowService calls throw it bare (a numeric `code` with `details`).
 */
function grpcCode(error: unknown): number | undefined {
  if (error instanceof ServiceError) return (error.cause as { code?: number } | undefined)?.code;
  if (typeof error !== 'object' || error === null || !('details' in error)) return undefined;
  const { code } = error as { code?: unknown };
  return typeof code === 'number' ? code : undefined;
}

/** The kind of a Temporal failure, or undefined when `error` is not one Herald tells apart. */
export function temporalFailureKind(error: unknown): TemporalFailureKind | undefined {
  if (error instanceof WorkflowNotFoundError) return 'not-found';
  if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
  switch (grpcCode(error)) {
    case GrpcStatus.NOT_FOUND:
      return 'not-found';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'invalid-argument';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'unavailable';
    default:
      return undefined;
  }
}

/** Whether a Temporal call failed because there is no such workflow (SDK error or bare gRPC NOT_FOUND). */
export function isNotFound(error: unknown): boolean {
  return temporalFailureKind(error) === 'not-found';
}

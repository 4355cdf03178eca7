/** One way to recognise Temporal's failures: the SDK's classes and bare gRPC errors alike. */
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { isNotFound, isTransient, temporalFailureKind } from '../../src/temporal/temporal-errors';

/** A gRPC error as @grpc/grpc-js throws it from a raw workflowService call. */
function grpcError(code: number, details = 'from the server'): Error {
  return Object.assign(new Error(`${code} grpc: ${details}`), { code, details, metadata: {} });
}

test('not found: the SDK error, a bare gRPC NOT_FOUND, and one wrapped in a ServiceError', () => {
  expect(isNotFound(new WorkflowNotFoundError('workflow not found', 'msg_1', undefined))).toBe(true);
  expect(isNotFound(grpcError(5))).toBe(true);
  expect(isNotFound(new ServiceError('failed', { cause: grpcError(5) }))).toBe(true);
});

test('anything else is not "not found"', () => {
  expect(isNotFound(new Error('workflow not found'))).toBe(false);
  expect(isNotFound(grpcError(14))).toBe(false);
  expect(isNotFound(Object.assign(new Error('no details'), { code: 5 }))).toBe(false);
  expect(isNotFound(undefined)).toBe(false);
  expect(isNotFound('NOT_FOUND')).toBe(false);
});

test.each([
  [grpcError(3), 'invalid-argument'],
  [grpcError(4), 'unavailable'],
  [grpcError(14), 'unavailable'],
  [new ServiceError('down', { cause: grpcError(14) }), 'unavailable'],
  [new WorkflowExecutionAlreadyStartedError('started', 'msg_1', 'deliverMessage'), 'already-started'],
  [grpcError(13), undefined],
  [new Error('plain'), undefined],
])('%p is %p', (error, kind) => {
  expect(temporalFailureKind(error)).toBe(kind);
});

test.each([
  ['UNAVAILABLE', grpcError(14)],
  ['DEADLINE_EXCEEDED', grpcError(4)],
  ['RESOURCE_EXHAUSTED', grpcError(8, 'namespace rate limit exceeded')],
  ['FAILED_PRECONDITION, workflow task failed', grpcError(9, 'Workflow Task in failed state.')],
  [
    'FAILED_PRECONDITION, workflow task failed (wrapped)',
    new ServiceError('x', { cause: grpcError(9, 'workflow task failed') }),
  ],
  ['FAILED_PRECONDITION, busy', grpcError(9, 'Workflow is busy.')],
  ['FAILED_PRECONDITION, too many in-flight updates', grpcError(9, 'Too many outstanding updates')],
  ['the update RPC timing out', new WorkflowUpdateRPCTimeoutOrCancelledError('timed out')],
])('%s is transient (503, retry), never a 500', (_name, error) => {
  expect(isTransient(error)).toBe(true);
  expect(temporalFailureKind(error)).toBe('unavailable');
});

test.each([
  ['NOT_FOUND', grpcError(5)],
  ['INTERNAL', grpcError(13)],
  ['another FAILED_PRECONDITION', grpcError(9, 'update is disabled for this namespace')],
  ['an update the workflow refused', new WorkflowUpdateFailedError('refused', undefined)],
  ['a plain error', new Error('Workflow is busy')],
])('%s is not transient', (_name, error) => {
  expect(isTransient(error)).toBe(false);
});

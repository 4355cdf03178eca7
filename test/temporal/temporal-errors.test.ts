/** One way to recognise Temporal's failures: the SDK's classes and bare gRPC errors alike. */
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { isNotFound, temporalFailureKind } from '../../src/temporal/temporal-errors';

/** A gRPC error as @grpc/grpc-js throws it from a raw workflowService call. */
function grpcError(code: number): Error {
  return Object.assign(new Error(`${code} grpc`), { code, details: 'from the server', metadata: {} });
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

/**
 * handOverReply with its Temporal calls injected: which way a reply goes (update, or the signal when
 * the update cannot be delivered), how long the caller waits, and what an ended message answers.
 * The real update and signal run against Temporal in test/api/replies.test.ts.
 */
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { MessageStatus, ReplyInput } from '../../src/contract/message-status';
import { REPLY_NOT_ACCEPTED } from '../../src/contract/error-types';
import { handOverReply, type ReplyHandover } from '../../src/temporal/message-operations';
import { ReplyNotAcceptedError } from '../../src/temporal/operation-errors';

const ID = 'msg-handover';
const REPLY: ReplyInput = { body: { ok: true }, webhookId: `${ID}#r1`, bodyHash: 'h1' };

function status(extra: Partial<MessageStatus> = {}): MessageStatus {
  return {
    id: ID,
    state: 'replied',
    destination: 'api.example.com',
    attempts: [],
    lastError: null,
    nextAttemptAt: null,
    reply: { ...REPLY, receivedAt: '2030-01-01T00:00:00.000Z', via: 'update' },
    deadLetter: null,
    rejection: null,
    cancellation: null,
    redrives: 0,
    ignored: [],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    ...extra,
  };
}

const never = <T>() => new Promise<T>(() => undefined);
const grpc = (code: number, details: string) =>
  new ServiceError('failed', { cause: Object.assign(new Error(details), { code, details, metadata: {} }) });

/** A handover whose calls are the given functions; it records what was called. */
function handover(calls: Partial<ReplyHandover>) {
  const called: string[] = [];
  const fake: ReplyHandover = {
    startUpdate: async (id, reply) => {
      called.push('update');
      return (calls.startUpdate ?? (async () => ({ result: async () => status() })))(id, reply);
    },
    signal: async (id, reply) => {
      called.push('signal');
      return (calls.signal ?? (async () => undefined))(id, reply);
    },
    status: async (id) => (calls.status ?? (async () => status()))(id),
    endedState: async (id) => (calls.endedState ?? (async () => 'replied'))(id),
  };
  return { fake, called };
}

test('an update that completes in time answers the settled status, and no signal is sent', async () => {
  const { fake, called } = handover({});
  await expect(handOverReply(fake, ID, REPLY, 1000)).resolves.toEqual({ kind: 'settled', status: status() });
  expect(called).toEqual(['update']);
});

test.each([
  ['FAILED_PRECONDITION (workflow task failed)', grpc(9, 'Workflow Task in failed state')],
  ['FAILED_PRECONDITION (workflow is busy)', grpc(9, 'Workflow is busy')],
  ['UNAVAILABLE', grpc(14, 'connection refused')],
  ['RESOURCE_EXHAUSTED', grpc(8, 'rate limit')],
  ['the update RPC timing out', new WorkflowUpdateRPCTimeoutOrCancelledError('timed out')],
])('an update that fails with %s falls back to the reply signal (202)', async (_name, error) => {
  const signalled: ReplyInput[] = [];
  const { fake, called } = handover({
    startUpdate: async () => {
      throw error;
    },
    signal: async (_id, reply) => {
      signalled.push(reply);
    },
  });
  await expect(handOverReply(fake, ID, REPLY, 1000)).resolves.toEqual({ kind: 'pending', via: 'signal' });
  expect(called).toEqual(['update', 'signal']);
  // The very same reply, identity included, so the workflow takes a later update of it as a resend.
  expect(signalled).toEqual([REPLY]);
});

test('an update accepted whose result then fails transiently also falls back to the signal', async () => {
  const { fake, called } = handover({
    startUpdate: async () => ({
      result: async () => {
        throw new WorkflowUpdateRPCTimeoutOrCancelledError('poll timed out');
      },
    }),
  });
  await expect(handOverReply(fake, ID, REPLY, 1000)).resolves.toEqual({ kind: 'pending', via: 'signal' });
  expect(called).toEqual(['update', 'signal']);
});

test('an update not accepted within the wait goes by signal, and the caller is answered at the bound', async () => {
  const { fake, called } = handover({ startUpdate: never });
  const started = Date.now();
  await expect(handOverReply(fake, ID, REPLY, 200)).resolves.toEqual({ kind: 'pending', via: 'signal' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  expect(Date.now() - started).toBeLessThan(2000);
  expect(called).toEqual(['update', 'signal']);
});

test('an update accepted whose result takes longer than the wait answers pending, without a signal', async () => {
  const { fake, called } = handover({ startUpdate: async () => ({ result: never }) });
  const started = Date.now();
  await expect(handOverReply(fake, ID, REPLY, 200)).resolves.toEqual({ kind: 'pending', via: 'update' });
  expect(Date.now() - started).toBeLessThan(2000);
  expect(called).toEqual(['update']);
});

test('a refusal by the workflow is a ReplyNotAcceptedError with its reason, and no signal is sent', async () => {
  const refusal = new WorkflowUpdateFailedError(
    'refused',
    ApplicationFailure.create({ type: REPLY_NOT_ACCEPTED, message: 'a reply was already received' }),
  );
  const { fake, called } = handover({
    startUpdate: async () => {
      throw refusal;
    },
  });
  const error = await handOverReply(fake, ID, REPLY, 1000).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ReplyNotAcceptedError);
  expect((error as ReplyNotAcceptedError).reason).toBe('a reply was already received');
  expect(called).toEqual(['update']);
});

test('a completed workflow: the identical reply answers its status, another reply is refused', async () => {
  const gone = async () => {
    throw new WorkflowNotFoundError('workflow execution already completed', ID, undefined);
  };
  const { fake } = handover({ startUpdate: gone });
  await expect(handOverReply(fake, ID, REPLY, 1000)).resolves.toEqual({ kind: 'settled', status: status() });
  const other = await handOverReply(fake, ID, { ...REPLY, bodyHash: 'h2' }, 1000).catch((e: unknown) => e);
  expect(other).toBeInstanceOf(ReplyNotAcceptedError);
  expect((other as ReplyNotAcceptedError).reason).toBe('the message has ended (replied)');
});

test('when the signal fails transiently too, the error is thrown (the API answers 503, the replier retries)', async () => {
  const down = grpc(14, 'connection refused');
  const { fake } = handover({
    startUpdate: async () => {
      throw down;
    },
    signal: async () => {
      throw down;
    },
  });
  await expect(handOverReply(fake, ID, REPLY, 1000)).rejects.toBe(down);
});

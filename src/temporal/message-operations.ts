/**
 * Starting and following messages through Temporal: the operations the API (and tests) build on.
 * Senders use the HTTP API (or src/client.ts, its TypeScript client) rather than these.
 */
import {
  ApplicationFailure,
  type Client,
  type WorkflowUpdateHandle,
  WorkflowUpdateStage,
  type WorkflowExecutionDescription,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { createHash } from 'node:crypto';
import {
  cancelSignal,
  MESSAGE_WORKFLOW,
  discardUpdate,
  redriveUpdate,
  replySignal,
  statusQuery,
  submitReplyUpdate,
  subscribeUpdate,
} from '../contract/definitions';
import {
  DiscardNotAllowedError,
  InvalidMessageError,
  MessageConflictError,
  MessageEndedError,
  MessageNotFoundError,
  RedriveNotAllowedError,
  ReplyNotAcceptedError,
  SubscribeNotAllowedError,
} from './operation-errors';
import {
  DISCARD_NOT_ALLOWED,
  REDRIVE_NOT_ALLOWED,
  REPLY_NOT_ACCEPTED,
  SUBSCRIBE_NOT_ALLOWED,
} from '../contract/error-types';
import { canonicalJson } from '../contract/canonical-json';
import { newMessageId } from '../contract/ids';
import { destinationHost, validateMessage, type Message, type MessageInput } from '../contract/message';
import {
  isSameReply,
  isTerminal,
  type MessageState,
  type MessageStatus,
  type ReplyInput,
} from '../contract/message-status';
import { HERALD_DESTINATION, HERALD_SENDER, HERALD_STATE } from '../contract/search-attributes';
import type { AcceptedMessage } from '../contract/operation-results';
import type { DeliverySettings } from '../retry/delivery-plan';
import type { heraldMessage } from '../workflows';
import type { OrderingStart } from '../workflows/ordering-turn';
import { isNotFound, isTransient } from './temporal-errors';

/** A stable hash of a message's content (everything but its id), to tell a resend from a different message. */
export function contentHash(message: MessageInput | Message): string {
  const { id: _id, ...content } = message;
  // A body by reference is its bytes, not where they are kept: a resend stores them under a new blob id.
  if ('bodyRef' in content && content.bodyRef) {
    const { id: _blob, ...bytes } = content.bodyRef;
    return createHash('sha256')
      .update(canonicalJson({ ...content, bodyRef: bytes }))
      .digest('hex');
  }
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * Validates and starts a message's workflow; an existing id with the same content returns that message.
 * `settings` (the API's delivery settings) ride with the start, so the workflow plans without asking the
 * worker; so does `ordering`, the place the API claimed for a message with an ordering key.
 */
export async function startMessage(
  client: Client,
  input: MessageInput,
  taskQueue: string,
  settings?: DeliverySettings,
  ordering?: OrderingStart,
): Promise<AcceptedMessage> {
  const message = { ...input, id: input.id ?? newMessageId() } as Message;
  const validated = validateMessage(message);
  if (!validated.ok) throw new InvalidMessageError(validated.errors);
  const hash = contentHash(message);
  const host = destinationHost(message.destination.url);
  try {
    await client.workflow.start<typeof heraldMessage>(MESSAGE_WORKFLOW, {
      workflowId: message.id,
      taskQueue,
      args: settings || ordering ? [message, { settings, ...(ordering ? { ordering } : {}) }] : [message],
      // The sender rides in the memo so cancel and subscribe can check it with a describe(), never
      // downloading the history (which a long-lived message can grow to megabytes).
      memo: message.sender === undefined ? { contentHash: hash } : { contentHash: hash, sender: message.sender },
      typedSearchAttributes: [
        { key: HERALD_STATE, value: 'accepted' },
        { key: HERALD_DESTINATION, value: host },
        ...(message.sender === undefined ? [] : [{ key: HERALD_SENDER, value: message.sender }]),
      ],
      staticSummary: `${message.destination.method ?? 'POST'} ${host}${message.reply ? ' · expects reply' : ''}`,
      // Origin and path only: a query string may carry a secret, and the Web UI shows this to everyone.
      staticDetails: `Message \`${message.id}\` to ${urlWithoutQuery(message.destination.url)}`,
      // A message id names one message forever, so it is never reused, even after its workflow closed
      // (REJECT_DUPLICATE); and a start for a running id fails (FAIL) rather than attaching, because we
      // must compare contents before answering: same content is a resend, other content a conflict.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
    return { id: message.id, existing: false, state: 'accepted' };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  const existingHash = await existingContentHash(client, message.id);
  if (existingHash !== hash) throw new MessageConflictError(message.id);
  const description = await client.workflow.getHandle(message.id).describe();
  const state = (description.typedSearchAttributes.get(HERALD_STATE) as MessageState | undefined) ?? 'accepted';
  return { id: message.id, existing: true, state };
}

/** The content hash of an existing message: from its memo, or from its start input (started by another client). */
async function existingContentHash(client: Client, id: string): Promise<string | undefined> {
  const description = await client.workflow.getHandle(id).describe();
  const memoHash = description.memo?.contentHash;
  if (typeof memoHash === 'string') return memoHash;
  const input = await messageInput(client, id);
  return input && typeof input === 'object' ? contentHash(input as MessageInput) : undefined;
}

/**
 * The API key name that sent a message, from its memo (one describe(), no history read); undefined for
 * a message started without one (by the Temporal CLI, or by a Herald from before the memo held it).
 */
export async function messageSender(client: Client, id: string): Promise<string | undefined> {
  const sender = (await describeMessage(client, id)).memo?.sender;
  return typeof sender === 'string' ? sender : undefined;
}

/** The input a message's (latest) workflow run was started with (reads its history: not for hot paths). */
export async function messageInput(client: Client, id: string): Promise<Message | undefined> {
  const history = await client.workflow
    .getHandle(id)
    .fetchHistory()
    .catch((error: unknown) => {
      throw isNotFound(error) ? new MessageNotFoundError(id) : error;
    });
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  // Through the codecs first (last encoder decodes first): the input is encrypted when
  // HERALD_ENCRYPTION_KEYS is set (src/encryption).
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let decoded = payloads.slice(0, 1);
  for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  const input = decoded[0] ? payloadConverter.fromPayload(decoded[0]) : undefined;
  return input && typeof input === 'object' ? (input as Message) : undefined;
}

/**
 * Registers a callback URL with a running message. SubscribeNotAllowedError when the message refuses;
 * MessageEndedError when its workflow has completed (the caller may then send the outcome itself).
 */
export async function subscribe(
  client: Client,
  id: string,
  url: string,
): Promise<{ subscriptions: number; notifiedNow: boolean }> {
  return refusableUpdate(client, id, subscribeUpdate, [{ url }], {
    failureType: SUBSCRIBE_NOT_ALLOWED,
    refused: (reason) => new SubscribeNotAllowedError(id, reason),
    ended: (state) => new MessageEndedError(id, state),
  });
}

/** The message's status (the workflow's `status` query); MessageNotFoundError for an unknown id. */
export async function getMessageStatus(client: Client, id: string): Promise<MessageStatus> {
  try {
    return await client.workflow.getHandle(id).query(statusQuery);
  } catch (error) {
    throw isNotFound(error) ? new MessageNotFoundError(id) : error;
  }
}

/**
 * The state a message is in as Temporal's visibility knows it (its HeraldState, or the workflow status
 * for a workflow without one, such as a callback); MessageNotFoundError when there is no such workflow.
 */
export async function messageState(client: Client, id: string): Promise<string> {
  const description = await describeMessage(client, id);
  return (description.typedSearchAttributes.get(HERALD_STATE) as string | undefined) ?? description.status.name;
}

/** The destination host of a message (its HeraldDestination); MessageNotFoundError for an unknown id. */
export async function messageDestination(client: Client, id: string): Promise<string> {
  const description = await describeMessage(client, id);
  return description.typedSearchAttributes.get(HERALD_DESTINATION) ?? '';
}

/** Describes a message's (latest) workflow run; MessageNotFoundError when there is none. */
export async function describeMessage(client: Client, id: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (error) {
    throw isNotFound(error) ? new MessageNotFoundError(id) : error;
  }
}

/** Hands the downstream's reply to the workflow (validating update); typed errors say why it was not taken. */
export async function submitReply(client: Client, id: string, reply: ReplyInput): Promise<MessageStatus> {
  return refusableUpdate(client, id, submitReplyUpdate, [reply], {
    failureType: REPLY_NOT_ACCEPTED,
    refused: (reason) => new ReplyNotAcceptedError(id, reason),
    ended: (state) => new ReplyNotAcceptedError(id, `the message has ended (${state})`),
  });
}

/** The Temporal calls a reply handover makes: injectable, so a test can make one of them fail. */
export interface ReplyHandover {
  /** Starts the submitReply update; resolves once the workflow accepted it (the reply is then durable). */
  startUpdate(id: string, reply: ReplyInput): Promise<Pick<WorkflowUpdateHandle<MessageStatus>, 'result'>>;
  /** Sends the reply signal: durable once Temporal took it; the workflow takes a valid one like the update. */
  signal(id: string, reply: ReplyInput): Promise<void>;
  /** The workflow's status (queried, so it works on a completed workflow too). */
  status(id: string): Promise<MessageStatus>;
  /** The state an ended message is in; MessageNotFoundError when there is no such message. */
  endedState(id: string): Promise<string>;
}

/** The reply handover over a real client. */
export function temporalReplyHandover(client: Client): ReplyHandover {
  return {
    startUpdate: (id, reply) =>
      client.workflow
        .getHandle(id)
        .startUpdate(submitReplyUpdate, { args: [reply], waitForStage: WorkflowUpdateStage.ACCEPTED }),
    signal: (id, reply) => client.workflow.getHandle(id).signal(replySignal, reply),
    status: (id) => client.workflow.getHandle(id).query(statusQuery),
    endedState: (id) => messageState(client, id),
  };
}

/**
 * What became of a reply handed over: `settled` (the message's outcome is known, `status` says it), or
 * `pending` (Temporal holds the reply, by the update accepted or by the signal, and the message has not
 * settled within the wait).
 */
export type ReplyHandoverOutcome =
  { kind: 'settled'; status: MessageStatus } | { kind: 'pending'; via: 'update' | 'signal' };

/**
 * Hands a reply to its message within `waitMs`: through the submitReply update, answering its result
 * when it comes in time; an identical resend of the recorded reply answers like the first. When the
 * update cannot be delivered (Temporal or the workflow's task failing, or not accepted in time), the
 * reply goes by the `reply` signal instead, so a reply that came before its deadline is never lost to
 * a transient failure. ReplyNotAcceptedError when the message refuses it.
 */
export async function handOverReply(
  handover: ReplyHandover,
  id: string,
  reply: ReplyInput,
  waitMs: number,
): Promise<ReplyHandoverOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waited'>((resolve) => {
    timer = setTimeout(() => resolve('waited'), waitMs);
  });
  try {
    const starting = handover.startUpdate(id, reply);
    const accepted = await Promise.race([starting, waited]);
    if (accepted === 'waited') {
      // Not accepted in time: the workflow's task may be failing. The signal makes the reply durable;
      // if the update is accepted after all, the workflow takes the identical signal as a resend.
      starting.catch(() => undefined);
      return await signalReply(handover, id, reply);
    }
    const result = accepted.result();
    const settled = await Promise.race([result, waited]);
    if (settled === 'waited') {
      result.catch(() => undefined);
      return { kind: 'pending', via: 'update' };
    }
    return { kind: 'settled', status: settled };
  } catch (error) {
    const refusal = updateRefusal(error, REPLY_NOT_ACCEPTED);
    if (refusal !== undefined) throw new ReplyNotAcceptedError(id, refusal);
    if (isTransient(error)) return await signalReply(handover, id, reply);
    return await endedReply(handover, id, reply, error);
  } finally {
    clearTimeout(timer);
  }
}

/** The fallback: the reply by signal. An ended workflow is answered like the update would have been. */
async function signalReply(handover: ReplyHandover, id: string, reply: ReplyInput): Promise<ReplyHandoverOutcome> {
  try {
    await handover.signal(id, reply);
    return { kind: 'pending', via: 'signal' };
  } catch (error) {
    return endedReply(handover, id, reply, error);
  }
}

/**
 * For a reply to a message whose workflow has completed: the status when its recorded reply is this
 * one (a resend), otherwise ReplyNotAcceptedError saying how it ended. Other errors are rethrown.
 */
async function endedReply(
  handover: ReplyHandover,
  id: string,
  reply: ReplyInput,
  error: unknown,
): Promise<ReplyHandoverOutcome> {
  if (!isNotFound(error)) throw error;
  const state = await handover.endedState(id);
  const status = await handover.status(id).catch(() => undefined);
  if (status && isSameReply(reply, status.reply)) return { kind: 'settled', status };
  throw new ReplyNotAcceptedError(id, `the message has ended (${state})`);
}

/** Asks the workflow to stop the message; MessageEndedError when it already ended. */
export async function cancelMessage(client: Client, id: string, reason?: string): Promise<void> {
  // The signal cannot answer, and the workflow ignores a cancel after the outcome (a parked dead
  // letter included): say so here rather than accept a cancel that will do nothing.
  const state = await client.workflow
    .getHandle(id)
    .query(statusQuery)
    .then((status) => status.state)
    .catch(() => undefined);
  if (state !== undefined && isTerminal(state)) throw new MessageEndedError(id, state);
  try {
    await client.workflow.getHandle(id).signal(cancelSignal, { reason });
  } catch (error) {
    throw new MessageEndedError(id, await endedState(client, id, error));
  }
}

/**
 * Runs delivery again for a dead-lettered message: RedriveNotAllowedError when the workflow refuses,
 * MessageEndedError when its workflow has completed (retention ended).
 */
export async function redriveMessage(client: Client, id: string, reason?: string): Promise<MessageStatus> {
  return refusableUpdate(client, id, redriveUpdate, [{ reason }], {
    failureType: REDRIVE_NOT_ALLOWED,
    refused: (why) => new RedriveNotAllowedError(id, why),
    ended: (state) => new MessageEndedError(id, state),
  });
}

/**
 * Discards a parked dead letter (its record is marked discarded and its workflow completes):
 * DiscardNotAllowedError when the workflow refuses, MessageEndedError when its workflow has completed.
 */
export async function discardMessage(client: Client, id: string, reason?: string): Promise<MessageStatus> {
  return refusableUpdate(client, id, discardUpdate, [{ reason }], {
    failureType: DISCARD_NOT_ALLOWED,
    refused: (why) => new DiscardNotAllowedError(id, why),
    ended: (state) => new MessageEndedError(id, state),
  });
}

/**
 * Runs an update whose validator may refuse it, and turns the two ways it can fail into typed errors:
 * the validator's refusal (`refused`, with its reason), or a workflow that is no longer running
 * (`ended`, with the state it ended in; MessageNotFoundError when there is no such message).
 */
async function refusableUpdate<Ret, Args extends [unknown, ...unknown[]]>(
  client: Client,
  id: string,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  errors: { failureType: string; refused: (reason: string) => Error; ended: (state: string) => Error },
): Promise<Ret> {
  try {
    return await client.workflow.getHandle(id).executeUpdate(update, { args });
  } catch (error) {
    const refusal = updateRefusal(error, errors.failureType);
    if (refusal !== undefined) throw errors.refused(refusal);
    throw errors.ended(await endedState(client, id, error));
  }
}

/** The reason an update validator refused, when `error` is that refusal. */
function updateRefusal(error: unknown, failureType: string): string | undefined {
  if (!(error instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = error.cause;
  // Compare the failure type, not the class: the failure was raised in another process.
  return cause instanceof ApplicationFailure && cause.type === failureType ? cause.message : undefined;
}

/**
 * For an operation that failed because the workflow is not running: the state it ended in, or
 * MessageNotFoundError when there is no such message. Other errors are rethrown as they are.
 */
async function endedState(client: Client, id: string, error: unknown): Promise<string> {
  if (!isNotFound(error)) throw error;
  return messageState(client, id);
}

function urlWithoutQuery(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

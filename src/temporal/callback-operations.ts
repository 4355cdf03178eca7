/** Starting deliverCallback workflows: late subscriptions to finished messages, and replays. */
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { CALLBACK_STATES, outcomePayload, type CallbackInput } from '../contract/callback';
import { DELIVER_CALLBACK_WORKFLOW } from '../contract/definitions';
import { destinationHost } from '../contract/message';
import type { MessageStatus } from '../contract/message-status';
import type { deliverCallback } from '../workflows';
import { messageInput, subscribe } from './message-operations';
import { MessageEndedError, SubscribeNotAllowedError } from './operation-errors';

/** Starts one callback workflow (its id may be reused: a replay of a dead-lettered callback). */
export async function startCallback(client: Client, taskQueue: string, input: CallbackInput): Promise<string> {
  const handle = await client.workflow.start<typeof deliverCallback>(DELIVER_CALLBACK_WORKFLOW, {
    workflowId: input.callbackId,
    taskQueue,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `Callback for ${input.messageId} to ${destinationHost(input.url)}`,
  });
  return handle.firstExecutionRunId;
}

/**
 * Registers a callback URL for a message's outcome. A running message takes it itself (and reports at
 * once when it already has its outcome); for one whose workflow has completed, the outcome is sent to
 * the URL now, from `readStatus`. SubscribeNotAllowedError when neither can be done.
 */
export async function subscribeToOutcome(
  client: Client,
  taskQueue: string,
  id: string,
  url: string,
  readStatus: (id: string) => Promise<MessageStatus>,
): Promise<{ notifiedNow: boolean }> {
  try {
    const { notifiedNow } = await subscribe(client, id, url);
    return { notifiedNow };
  } catch (error) {
    if (!(error instanceof MessageEndedError)) throw error;
    await notifyFinishedMessage(client, taskQueue, await readStatus(id), url);
    return { notifiedNow: true };
  }
}

/** For a message whose workflow has completed: sends its outcome to a newly registered URL at once. */
export async function notifyFinishedMessage(
  client: Client,
  taskQueue: string,
  status: MessageStatus,
  url: string,
): Promise<void> {
  if (!CALLBACK_STATES.includes(status.state)) {
    throw new SubscribeNotAllowedError(status.id, `a ${status.state} message has no outcome to report`);
  }
  const message = await messageInput(client, status.id);
  if (!message) throw new SubscribeNotAllowedError(status.id, 'the message’s input could not be read');
  await startCallback(client, taskQueue, {
    callbackId: `${status.id}.callback-late-${randomBytes(6).toString('hex')}`,
    messageId: status.id,
    url,
    sender: message.sender ?? null,
    payload: outcomePayload(status, message, new Date().toISOString()),
    message,
    round: 1,
  });
}

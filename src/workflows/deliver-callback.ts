/**
 * deliverCallback: tells a sender a message's outcome by POSTing a signed callback, under the callback
 * retry policy. A callback that never succeeds is dead-lettered as a callback (reason `callback_failed`),
 * where an operator can replay it with the same redrive endpoints. Started by deliverMessage as an
 * abandoned child, so a slow receiver never holds its message open.
 */
import { ActivityFailure, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import type { CallbackInput } from '../contract/callback';
import { destinationHost } from '../contract/message';
import type { AttemptRecord } from '../contract/message-status';
import { lastAttemptFailure } from './activity-failure';
import { attemptActivityOptions, DEAD_LETTER_ACTIVITY_OPTIONS, LOCAL_ACTIVITY_OPTIONS } from './activity-options';

const { getDeliverySettings } = proxyLocalActivities<HeraldActivities>(LOCAL_ACTIVITY_OPTIONS);
/** As for messages: a dead-letter write retries until it succeeds. */
const { deadLetter } = proxyActivities<HeraldActivities>(DEAD_LETTER_ACTIVITY_OPTIONS);

export interface CallbackOutcome {
  delivered: boolean;
  attempt: AttemptRecord | null;
}

/** Sends one callback, retrying per policy; dead-letters it when that fails. */
export async function deliverCallback(input: CallbackInput): Promise<CallbackOutcome> {
  const { callback: policy } = await getDeliverySettings();
  const { notify } = proxyActivities<HeraldActivities>(attemptActivityOptions(policy));
  const startedAt = new Date(workflowInfo().startTime).toISOString();
  try {
    const attempt = await notify({
      callbackId: input.callbackId,
      url: input.url,
      sender: input.sender,
      payload: input.payload,
      policy,
    });
    return { delivered: true, attempt };
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const { attempt, lastError } = lastAttemptFailure(error);
    await deadLetter({
      id: input.callbackId,
      kind: 'callback',
      callback: { messageId: input.messageId, url: input.url, sender: input.sender, payload: input.payload },
      message: input.message,
      reason: 'callback_failed',
      lastError,
      attempts: attempt ? [attempt] : [],
      round: input.round,
      destination: destinationHost(input.url),
      messageCreatedAt: startedAt,
      deadLetteredAt: new Date().toISOString(),
    });
    return { delivered: false, attempt: attempt ?? null };
  }
}

/**
 * deliverCallback: tells a sender a message's outcome by POSTing a signed callback, under the callback
 * retry policy. A callback that never succeeds is dead-lettered as a callback (reason `callback_failed`),
 * where an operator can replay it with the same redrive endpoints. Started by deliverMessage as an
 * abandoned child, so a slow receiver never holds its message open.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import type { CallbackInput } from '../contract/callback';
import { NON_RETRYABLE_DELIVERY_ERRORS } from '../contract/error-types';
import { destinationHost } from '../contract/message';
import type { AttemptRecord } from '../contract/message-status';

const { getDeliverySettings } = proxyLocalActivities<HeraldActivities>({ startToCloseTimeout: '10s' });
/** As for messages: a dead-letter write retries until it succeeds. */
const { deadLetter } = proxyActivities<HeraldActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface CallbackOutcome {
  delivered: boolean;
  attempt: AttemptRecord | null;
}

/** Sends one callback, retrying per policy; dead-letters it when that fails. */
export async function deliverCallback(input: CallbackInput): Promise<CallbackOutcome> {
  const { callback: policy } = await getDeliverySettings();
  const { notify } = proxyActivities<HeraldActivities>({
    startToCloseTimeout: policy.attemptTimeoutMs,
    scheduleToCloseTimeout: policy.deadlineMs,
    retry: {
      initialInterval: policy.initialIntervalMs,
      backoffCoefficient: policy.backoffCoefficient,
      maximumInterval: policy.maximumIntervalMs,
      maximumAttempts: policy.maximumAttempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE_DELIVERY_ERRORS],
    },
  });
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
    const cause = error.cause instanceof TimeoutFailure && error.cause.cause ? error.cause.cause : error.cause;
    const attempt =
      cause instanceof ApplicationFailure ? ((cause.details?.[0] as AttemptRecord | undefined) ?? null) : null;
    await deadLetter({
      id: input.callbackId,
      kind: 'callback',
      callback: { messageId: input.messageId, url: input.url, sender: input.sender, payload: input.payload },
      message: input.message,
      reason: 'callback_failed',
      lastError: {
        type: (cause as ApplicationFailure | undefined)?.type ?? cause?.name ?? 'Error',
        message: cause?.message ?? error.message,
      },
      attempts: attempt ? [attempt] : [],
      round: input.round,
      destination: destinationHost(input.url),
      messageCreatedAt: startedAt,
      deadLetteredAt: new Date().toISOString(),
    });
    return { delivered: false, attempt };
  }
}

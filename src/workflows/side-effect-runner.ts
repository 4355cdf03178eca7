/**
 * Runs a message's side-effect queue beside the workflow's own flow: events through a local activity,
 * callbacks as abandoned deliverCallback children. One at a time and in order, never cancelled, and a
 * failure is logged, never allowed to wedge the message's outcome.
 */
import {
  CancellationScope,
  condition,
  log,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
} from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import { destinationHost } from '../contract/message';
import { LOCAL_ACTIVITY_OPTIONS } from './activity-options';
import { deliverCallback } from './deliver-callback';
import type { SideEffectQueue } from './side-effects';

const { publishEvent } = proxyLocalActivities<HeraldActivities>(LOCAL_ACTIVITY_OPTIONS);

async function runSideEffects(queue: SideEffectQueue): Promise<never> {
  for (;;) {
    await condition(() => queue.hasWaiting);
    const effect = queue.take()!;
    try {
      if (effect.kind === 'event') {
        await publishEvent(effect.event);
      } else {
        await startChild(deliverCallback, {
          workflowId: effect.input.callbackId,
          args: [effect.input],
          // The callback outlives its message: a slow receiver must not hold the message open.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `Callback for ${queue.messageId} to ${destinationHost(effect.input.url)}`,
        });
      }
    } catch (error) {
      // A side effect must never wedge the message's own outcome: record the loss and go on.
      log.error('side effect failed', { kind: effect.kind, error: String(error) });
    } finally {
      queue.done();
    }
  }
}

/** Starts running the queue for the rest of the workflow (nothing to run on runs without side effects). */
export function startSideEffects(queue: SideEffectQueue): void {
  if (queue.enabled) void CancellationScope.nonCancellable(() => runSideEffects(queue));
}

/** Resolves once every queued effect has run; the workflow cannot be cancelled out of this wait. */
export function sideEffectsDrained(queue: SideEffectQueue): Promise<void> {
  return CancellationScope.nonCancellable(() => condition(() => queue.idle));
}

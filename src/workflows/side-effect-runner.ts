/**
 * Runs a message's side-effect queue beside the workflow's own flow, in order and never cancelled; a
 * failure is logged, never allowed to wedge the message's outcome. Callbacks start as abandoned
 * deliverCallback children. Events go one of two ways, fixed per run by a patch:
 *
 * - `committed` (runs since herald-committed-events-v2): a regular activity, `publishEvents`, which
 *   Temporal schedules only once the workflow task that made the change has committed, so a task
 *   that fails (a worker killed mid-task) leaves no event behind. Everything queued while one publish
 *   is in flight goes in the next call; callbacks start beside it, never waiting for a publish.
 * - `local` (older runs, kept so their histories replay): the `publishEvent` local activity, one
 *   event per call, run before its workflow task commits.
 */
import {
  CancellationScope,
  condition,
  log,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import type { CallbackInput } from '../contract/callback';
import { destinationHost } from '../contract/message';
import { EVENT_PUBLISH_ACTIVITY_OPTIONS, LOCAL_ACTIVITY_OPTIONS } from './activity-options';
import { deliverCallback } from './deliver-callback';
import type { SideEffectQueue } from './side-effects';

/** How a run publishes its events (see the file comment). */
export type EventPublishing = 'committed' | 'local';

const { publishEvent } = proxyLocalActivities<HeraldActivities>(LOCAL_ACTIVITY_OPTIONS);
const { publishEvents } = proxyActivities<HeraldActivities>(EVENT_PUBLISH_ACTIVITY_OPTIONS);

/** Starts one callback child (not async: awaiting it must cost no extra microtask hop, see deliver-message.ts). */
function startCallback(
  queue: SideEffectQueue,
  input: CallbackInput,
): Promise<ChildWorkflowHandle<typeof deliverCallback>> {
  return startChild(deliverCallback, {
    workflowId: input.callbackId,
    args: [input],
    // The callback outlives its message: a slow receiver must not hold the message open.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `Callback for ${queue.messageId} to ${destinationHost(input.url)}`,
  });
}

async function runLocally(queue: SideEffectQueue): Promise<never> {
  for (;;) {
    await condition(() => queue.hasWaiting);
    const effect = queue.take()!;
    try {
      if (effect.kind === 'event') {
        await publishEvent(effect.event);
      } else {
        await startCallback(queue, effect.input);
      }
    } catch (error) {
      // A side effect must never wedge the message's own outcome: record the loss and go on.
      log.error('side effect failed', { kind: effect.kind, error: String(error) });
    } finally {
      queue.done();
    }
  }
}

async function publishAfterCommit(queue: SideEffectQueue): Promise<never> {
  for (;;) {
    await condition(() => queue.hasWaitingEvents);
    const events = queue.takeEvents();
    try {
      await publishEvents(events);
    } catch (error) {
      // Only a refused event (EventSeqConflictError) or a bug gets here: the activity waits out a store that is down.
      log.error('side effect failed', { kind: 'event', error: String(error) });
    } finally {
      queue.eventsDone();
    }
  }
}

async function startCallbacks(queue: SideEffectQueue): Promise<never> {
  for (;;) {
    await condition(() => queue.hasWaitingCallbacks);
    const input = queue.takeCallback()!;
    try {
      await startCallback(queue, input);
    } catch (error) {
      log.error('side effect failed', { kind: 'callback', error: String(error) });
    } finally {
      queue.callbackDone();
    }
  }
}

/** Starts running the queue for the rest of the workflow (nothing to run on runs without side effects). */
export function startSideEffects(queue: SideEffectQueue, publishing: EventPublishing): void {
  if (!queue.enabled) return;
  if (publishing === 'local') {
    void CancellationScope.nonCancellable(() => runLocally(queue));
    return;
  }
  // One scope for both lanes (a scope costs the worker promises and their stack traces); the events
  // lane starts first, so when both have work its activity is scheduled before the callback's child.
  void CancellationScope.nonCancellable(() => {
    void publishAfterCommit(queue);
    return startCallbacks(queue);
  });
}

/** Resolves once every queued effect has run; the workflow cannot be cancelled out of this wait. */
export function sideEffectsDrained(queue: SideEffectQueue): Promise<void> {
  return CancellationScope.nonCancellable(() => condition(() => queue.idle));
}

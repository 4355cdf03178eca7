/**
 * The sink a lean run calls as it ends (see SideEffectQueue's `lean`): it asks the worker to record the
 * run's last event once Temporal has committed the close (runtime/close-out-watcher). A sink is only a
 * nudge: it runs even when the task that called it never commits, so the watcher trusts the close alone.
 */
import type { Sinks } from '@temporalio/workflow';

export interface CloseOutSinks extends Sinks {
  closeOut: {
    /**
     * This run is completing in `state`, reached at `at` (the status's `updatedAt`, which the event
     * carries); `sender` is the message's, for the event (a memo can lack it).
     */
    runEnding(end: { state: string; at: string; sender: string | null }): void;
  };
}

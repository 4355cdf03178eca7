/**
 * The sink a lean run calls as it ends (see SideEffectQueue's `lean`): it asks the worker to record the
 * run's last event once Temporal has committed the close (runtime/close-out-watcher). A sink is only a
 * nudge: it runs even when the task that called it never commits, so the watcher trusts the close alone.
 */
import type { Sinks } from '@temporalio/workflow';

/** What a nudge says: the state the closing task reached, when, and the message's sender. */
export interface RunEnd {
  state: string;
  /** The status's `updatedAt` at that state, which the event carries. */
  at: string;
  /** The message's sender, for the event (a memo can lack it). */
  sender: string | null;
}

export interface CloseOutSinks extends Sinks {
  closeOut: {
    /** This run is completing as `end` says. */
    runEnding(end: RunEnd): void;
  };
}

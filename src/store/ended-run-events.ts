/**
 * The event a closed run did not publish itself, appended once to the event log so every stream,
 * `herald tail` and the status API end on the same state: `terminated` or `timed_out` for a run
 * Temporal ended, and the last state of a lean run (which leaves it to its committed close, see
 * workflows/side-effects). Whoever notices first writes it (the worker that closed the run, a status
 * read, the sweeper in each worker process); the log's idempotent append keeps one copy when several do.
 */
import { endsTheRun, type MessageState } from '../contract/message-status';
import type { EndedRun, MessageEvent } from '../contract/message-event';
import type { EventLog } from './event-log';

/** Whether the run's last logged event already says how it ended. */
function alreadyEnded(latest: MessageEvent, run: EndedRun): boolean {
  const logged = latest.state as MessageState;
  if (logged === run.state || endsTheRun(logged)) return true;
  // A parked dead letter keeps its outcome when Temporal ends the run (the status API says so too); a
  // run that completed after leaving `dead_lettered` (discarded, say) still has its end to log.
  if (logged === 'dead_lettered') return run.state === 'terminated' || run.state === 'timed_out';
  return false;
}

/** Appends the run's end unless the log already ends the run; answers whether it wrote. */
export async function recordEndedRun(events: EventLog, run: EndedRun): Promise<boolean> {
  const latest = await events.latest(run.messageId);
  const sameRun = latest?.runId === run.runId;
  if (sameRun && alreadyEnded(latest, run)) return false;
  // The run is over, so nothing else numbers its events: the next number is free.
  await events.append({
    messageId: run.messageId,
    runId: run.runId,
    seq: (sameRun ? latest.seq : 0) + 1,
    state: run.state,
    destination: run.destination,
    sender: run.sender,
    at: run.closedAt,
  });
  return true;
}

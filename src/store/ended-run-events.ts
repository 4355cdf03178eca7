/**
 * The event a run Temporal ended never published: `terminated` or `timed_out`, appended once to the
 * event log so every stream, `herald tail` and the status API end on the same state. Whoever notices
 * first writes it (the status read, or the sweeper in each worker process); the log's idempotent append
 * keeps one copy when several do.
 */
import { isTerminal, type MessageState } from '../contract/message-status';
import type { EndedRun } from '../contract/message-event';
import type { EventLog } from './event-log';

/** Appends the run's end unless the log already ends the run; answers whether it wrote. */
export async function recordEndedRun(events: EventLog, run: EndedRun): Promise<boolean> {
  const latest = await events.latest(run.messageId);
  const sameRun = latest?.runId === run.runId;
  if (sameRun && isTerminal(latest.state as MessageState)) return false;
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

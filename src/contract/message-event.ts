import type { MessageState } from './message-status';

/** One state change of one message, as published to the event log and streamed to SSE clients. Pure types. */
export interface MessageEvent {
  /** Position in the log; what SSE clients send back as Last-Event-ID. */
  id: number;
  messageId: string;
  /** The workflow run that published it (a redrive after retention is a new run of the same message). */
  runId: string;
  /** The message's own event counter, so a re-published event is recognised and kept once. */
  seq: number;
  state: string;
  destination: string;
  /** Name of the API key that sent the message (null for messages started outside the API). */
  sender: string | null;
  at: string;
}

export type NewMessageEvent = Omit<MessageEvent, 'id'>;

/**
 * A message run that has closed, as read from Temporal: ended without the workflow's say (terminated,
 * timed out), or completed by a workflow that leaves its last event to be recorded from the close (lean runs).
 */
export interface EndedRun {
  messageId: string;
  runId: string;
  state: MessageState;
  /** When the run reached that state (the workflow's time for a completed run, the close time otherwise). */
  closedAt: string;
  destination: string;
  /** The API key name in the run's memo (null for a message started outside the API). */
  sender: string | null;
}

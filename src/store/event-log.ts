/**
 * The event log: every state change of every message, in order, as the workflows publish them. The
 * API tails it to serve Server-Sent Events, so any number of API processes see every change.
 *
 * The embedded default is a table in the SQLite store (nothing to install; processes on one host share
 * the file). With HERALD_DATABASE_URL it is a PostgreSQL table that every host shares. `watch` says when
 * to read again: an in-process hint on SQLite (appends by another process are found by the reader's poll),
 * LISTEN/NOTIFY on PostgreSQL. The log itself stays the source of truth: readers tail it by position, so a
 * hint that never comes delays an event, never loses it. test/store/event-log.contract.ts is the behaviour
 * both keep.
 */
import type { MessageEvent, NewMessageEvent } from '../contract/message-event';

export type { MessageEvent, NewMessageEvent };

/** Events of one state in one minute (`YYYY-MM-DDTHH:MM`, UTC). */
export interface MinuteCount {
  minute: string;
  state: string;
  count: number;
}

export interface EventLogQuery {
  afterId: number;
  messageId?: string;
  /** Only events of messages sent with this API key. */
  sender?: string;
  limit?: number;
}

/**
 * An event numbered like one already in the log but saying another state. A run numbers its events
 * in order, so two states under one number mean one of them was never committed (or a bug): the log
 * keeps the first and refuses the second loudly rather than dropping it unseen.
 */
export class EventSeqConflictError extends Error {
  override name = 'EventSeqConflictError';
  constructor(
    readonly event: NewMessageEvent,
    /** The state the log already holds under that number. */
    readonly loggedState: string,
  ) {
    super(
      `event ${event.seq} of message ${event.messageId} (run ${event.runId}) is already logged as ` +
        `${loggedState}; refusing ${event.state}`,
    );
  }
}

export interface EventLog {
  /**
   * Appends an event. Idempotent per (messageId, runId, seq) for the same state; a different state
   * under a known (messageId, runId, seq) throws EventSeqConflictError and changes nothing.
   * `appended` is false when the log already held the event (the outcome metrics count only new ones).
   */
  append(event: NewMessageEvent): Promise<{ appended: boolean }>;
  /**
   * Events after `afterId`, oldest first. Ids grow in commit order: a reader that resumes after the
   * last id it saw never misses an event committed later with a smaller id.
   */
  read(query: EventLogQuery): Promise<MessageEvent[]>;
  /** The newest event of one message, if any. */
  latest(messageId: string): Promise<MessageEvent | undefined>;
  /** The id of the newest event in the log (0 when empty). */
  lastId(): Promise<number>;
  /**
   * How many events of each state were stamped in each UTC minute since `since` (ISO time), oldest
   * first, optionally of one sender's messages: the console's activity chart. Minutes with none are absent.
   */
  countByMinute(query: { since: string; sender?: string }): Promise<MinuteCount[]>;
  /**
   * Deletes up to `batchSize` events stamped before `olderThan` (ISO time), oldest first, and answers
   * how many it deleted. One bounded batch per call (src/runtime/retention.ts paces them); safe to run
   * from several processes at once.
   */
  prune(olderThan: string, batchSize: number): Promise<number>;
  /**
   * Calls `listener` soon after an event is appended (a hint only; read the log for what changed);
   * returns unsubscribe. Which appends give a hint depends on the store; a reader still polls.
   */
  watch(listener: () => void): () => void;
  close(): Promise<void>;
}

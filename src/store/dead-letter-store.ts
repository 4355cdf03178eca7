/**
 * The dead-letter store: where messages that could not be delivered wait for an operator.
 * An interface, so the embedded SQLite store can be replaced by PostgreSQL at scale.
 */
import type { Message } from '../contract/message';
import type { AttemptRecord, DeadLetterReason, LastError } from '../contract/message-status';

export type DeadLetterRecordState = 'dead_lettered' | 'redriven' | 'discarded';

/** A callback that never reached the sender, kept so an operator can replay it. */
export interface CallbackDeadLetter {
  messageId: string;
  url: string;
  /** API key name whose secret signs it. */
  sender: string | null;
  /** The exact outcome document that was being sent. */
  payload: unknown;
}

export interface DeadLetterRecord {
  /** The message id (one record per message), or `<message id>.callback.<n>` for a callback. */
  id: string;
  /** `message`: the delivery failed; `callback`: telling the sender the outcome failed. */
  kind: 'message' | 'callback';
  /** Set for kind `callback`. */
  callback: CallbackDeadLetter | null;
  message: Message;
  reason: DeadLetterReason;
  lastError: LastError | null;
  attempts: AttemptRecord[];
  /** The delivery round that was dead-lettered; a redriven message that fails again has a higher round. */
  round: number;
  /** Destination host, for filtering. */
  destination: string;
  state: DeadLetterRecordState;
  messageCreatedAt: string;
  deadLetteredAt: string;
  redrivenAt: string | null;
  redriveCount: number;
}

export type NewDeadLetter = Omit<DeadLetterRecord, 'state' | 'redrivenAt' | 'redriveCount' | 'kind' | 'callback'> &
  Partial<Pick<DeadLetterRecord, 'kind' | 'callback'>>;

export interface DeadLetterFilter {
  reason?: DeadLetterReason;
  kind?: DeadLetterRecord['kind'];
  destination?: string;
  state?: DeadLetterRecordState;
  /** ISO timestamps bounding deadLetteredAt. */
  since?: string;
  until?: string;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface DeadLetterPage {
  records: DeadLetterRecord[];
  nextCursor: string | null;
}

export interface DeadLetterStore {
  /**
   * Writes a record. Idempotent per (id, round): writing the same round again changes nothing and
   * answers `created: false`, so a retried activity never makes two records.
   */
  put(record: NewDeadLetter): Promise<{ created: boolean }>;
  get(id: string): Promise<DeadLetterRecord | undefined>;
  list(filter?: DeadLetterFilter): Promise<DeadLetterPage>;
  /** Marks the record of `round` redriven; idempotent. */
  markRedriven(id: string, round: number, at: string): Promise<void>;
  /** Marks the record discarded (an operator gave up on it); idempotent. */
  markDiscarded(id: string, at: string): Promise<void>;
  /** Checks the store can take a write (for readiness probes). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The dead-letter store: where messages that could not be delivered wait for an operator.
 * An interface, so the embedded SQLite store can be replaced by PostgreSQL at scale.
 */
import type { DeadLetterRecord, DeadLetterRecordState } from '../contract/dead-letter';
import type { DeadLetterReason } from '../contract/message-status';

// The record's shape is one schema in the contract (the API serves the same one).
export type { CallbackDeadLetter, DeadLetterRecord, DeadLetterRecordState } from '../contract/dead-letter';

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

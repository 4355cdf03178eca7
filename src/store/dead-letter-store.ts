/**
 * The dead-letter store: where messages that could not be delivered wait for an operator.
 * An interface with two implementations: the embedded SQLite file (the default) and PostgreSQL
 * (HERALD_DATABASE_URL), which every host of a fleet shares. test/store/dead-letter-store.contract.ts
 * is their common behaviour.
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
  /**
   * Deletes up to `batchSize` redriven or discarded records marked before `olderThan` (ISO time) and
   * answers how many it deleted. Records still waiting (`dead_lettered`) are never deleted. One bounded
   * batch per call, so the caller paces a large clean-up (src/runtime/retention.ts); safe to run from
   * several processes at once.
   */
  prune(olderThan: string, batchSize: number): Promise<number>;
  /** The dead letters waiting (state `dead_lettered`) by reason and destination, and the oldest one's time. */
  waiting(): Promise<WaitingDeadLetters>;
  /** Checks the store can take a write (for readiness probes). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What the dead-letter metrics read at each scrape (see DeadLetterStore.waiting). */
export interface WaitingDeadLetters {
  groups: { reason: string; destination: string; count: number }[];
  /** When the oldest waiting dead letter was written (ISO time); null when none waits. */
  oldestDeadLetteredAt: string | null;
}

/** Raised for a cursor that was not made by this store. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

/** The opaque page cursor: the last record's (deadLetteredAt, id), the list's order. */
export function encodeDeadLetterCursor(record: Pick<DeadLetterRecord, 'deadLetteredAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([record.deadLetteredAt, record.id])).toString('base64url');
}

/** Reads a cursor made by encodeDeadLetterCursor; anything else throws InvalidCursorError. */
export function decodeDeadLetterCursor(cursor: string): [at: string, id: string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // The time must be one (PostgreSQL compares it as a timestamp, and would refuse a bad one with a 500).
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((v) => typeof v === 'string') &&
      !Number.isNaN(Date.parse(value[0] as string))
    ) {
      return value as [string, string];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError('invalid cursor');
}

/** The page size a list asks for, bounded to 1–500 (50 when unset). */
export function deadLetterPageSize(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? 50, 1), 500);
}

/**
 * Ordered delivery, as one message sees it: its place on its ordering key, whether it still waits for
 * its predecessor, and when it hands the turn on to its successor. No Temporal calls (MessageRun owns
 * one and the workflow sends the signals), so the rules have plain unit tests.
 *
 * The chain is decentralised: the API's sequencer (store/ordering-store.ts) tells each message its
 * predecessor; the message registers with it (`successorWaiting`) and waits for `predecessorReleased`.
 * A predecessor that has ended cannot be signalled, so a failed registration means "go".
 */
import { ORDERING_DEAD_LETTER_MODES, type OrderingDeadLetterMode } from '../contract/message';
import type { MessageState, OrderingStatus } from '../contract/message-status';

/** What the API hands a message with an ordering key at its start (MessageStartOptions.ordering). */
export interface OrderingStart {
  key: string;
  /** The message accepted just before this one on its key and destination; null for the first. */
  predecessor: string | null;
  seq: number;
  /** When the predecessor claimed its place (ISO 8601; see OrderingClaim). Absent in starts of older API hosts. */
  predecessorClaimedAt?: string | null;
  /** What this message being dead-lettered does to its successor (the message's choice, or config's). */
  onDeadLetter: OrderingDeadLetterMode;
}

/** Whether `value` has the shape of OrderingStart (start input comes from any client, the CLI too). */
export function isOrderingStart(value: unknown): value is OrderingStart {
  if (typeof value !== 'object' || value === null) return false;
  const start = value as Record<string, unknown>;
  return (
    typeof start.key === 'string' &&
    start.key.length > 0 &&
    (start.predecessor === null || typeof start.predecessor === 'string') &&
    typeof start.seq === 'number' &&
    (start.predecessorClaimedAt === undefined ||
      start.predecessorClaimedAt === null ||
      typeof start.predecessorClaimedAt === 'string') &&
    Number.isInteger(start.seq) &&
    (ORDERING_DEAD_LETTER_MODES as readonly unknown[]).includes(start.onDeadLetter)
  );
}

/**
 * Whether entering `state` hands the turn on. `skip`: any outcome, a dead letter too. `block`: any
 * outcome but a dead letter, which holds its successor until a redrive delivers it, a discard, or the
 * end of its run (retention over, see OrderingTurn.runEnding).
 */
export function releasesTurn(state: MessageState, onDeadLetter: OrderingDeadLetterMode): boolean {
  switch (state) {
    case 'delivered':
    case 'replied':
    case 'cancelled':
    case 'rejected':
    case 'discarded':
      return true;
    case 'dead_lettered':
      return onDeadLetter === 'skip';
    default:
      return false;
  }
}

/** One message's turn on its ordering key (see the file comment). */
export class OrderingTurn {
  /** The `ordering` field of the status (this object, kept up to date). */
  readonly status: OrderingStatus;
  private readonly successors: string[] = [];
  private released = false;

  /** `release` sends `predecessorReleased` to the given successors (the workflow's signal). */
  constructor(
    start: OrderingStart,
    private readonly release: (successors: string[]) => void,
  ) {
    this.status = {
      key: start.key,
      predecessor: start.predecessor,
      seq: start.seq,
      waiting: start.predecessor !== null,
      onDeadLetter: start.onDeadLetter,
    };
  }

  /** Whether delivery must still wait for the predecessor. */
  get waiting(): boolean {
    return this.status.waiting;
  }

  /** Whether this message has handed its turn on (successors registering now are released at once). */
  get hasReleased(): boolean {
    return this.released;
  }

  /** The predecessor said go; a release from anyone else (a stale chain) changes nothing. */
  predecessorReleased(id: string): void {
    if (id === this.status.predecessor) this.status.waiting = false;
  }

  /** The predecessor cannot be signalled: it has ended (or was never started), so nothing is ahead. */
  predecessorGone(): void {
    this.status.waiting = false;
  }

  /** A successor registered; once released, it is released at once (again, if it asks again: it did not hear). */
  successorWaiting(id: string): void {
    if (!this.successors.includes(id)) this.successors.push(id);
    if (this.released) this.send([id]);
  }

  /** The message entered `state`: the release point hands the turn on. */
  stateEntered(state: MessageState): void {
    if (releasesTurn(state, this.status.onDeadLetter)) this.handOn();
  }

  /** The run is ending, however (retention over, a cancel, a rejection): nothing is held behind it any more. */
  runEnding(): void {
    this.handOn();
  }

  private handOn(): void {
    if (this.released) return;
    this.released = true;
    if (this.successors.length > 0) this.send([...this.successors]);
  }

  private send(successors: string[]): void {
    this.release(successors);
  }
}

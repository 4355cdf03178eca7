/**
 * What a message tells the world besides its status: an event for every state change (the event log
 * and its SSE streams) and a callback to each subscriber when it reaches an outcome. Pure: this queue
 * numbers and builds them; side-effect-runner.ts runs them in order: one effect at a time, or (since
 * events are published after commit) events in batches beside callbacks one at a time.
 */
import type { CallbackInput } from '../contract/callback';
import type { Message } from '../contract/message';
import type { NewMessageEvent } from '../contract/message-event';
import { endsTheRun, type MessageState } from '../contract/message-status';

export type SideEffect = { kind: 'event'; event: NewMessageEvent } | { kind: 'callback'; input: CallbackInput };

/** What one publish runs: the events waiting next to each other, in one call, or one callback. */
export type SideEffectBatch =
  { kind: 'events'; events: NewMessageEvent[] } | { kind: 'callback'; input: CallbackInput };

export interface SideEffectQueueOptions {
  messageId: string;
  /** The workflow run; events are numbered per run. */
  runId: string;
  /** The run's first delivery round: a restarted run's callback ids carry it, so they never collide with the first run's. */
  firstRound: number;
  /** False for runs started before events and callbacks existed: such a queue takes nothing. */
  enabled: boolean;
  /**
   * Runs since herald-lean-events-v3: the terminal state's event is not published by the workflow but
   * recorded from the committed close (runtime/close-out-watcher, the ended-run sweeper), and the
   * events before a delivery ride in the delivery activity's input (`handOffEvents`).
   */
  lean?: boolean;
}

/** One message's events and callbacks, waiting to run in the order they happened. */
export class SideEffectQueue {
  readonly enabled: boolean;
  readonly messageId: string;
  private readonly runId: string;
  private readonly callbackPrefix: string;
  private waiting: SideEffect[] = [];
  private running = false;
  private publishing = false;
  private starting = false;
  private eventSeq = 0;
  private callbackCount = 0;
  readonly lean: boolean;
  /** The batch a publish is writing now (a delivery handed its events writes them again, idempotently). */
  private inFlight: NewMessageEvent[] = [];
  /** Events a delivery activity carries, until it ends. */
  private handedOff: NewMessageEvent[] | null = null;

  constructor({ messageId, runId, firstRound, enabled, lean }: SideEffectQueueOptions) {
    this.enabled = enabled;
    this.lean = lean ?? false;
    this.messageId = messageId;
    this.runId = runId;
    this.callbackPrefix = firstRound === 1 ? `${messageId}.callback-` : `${messageId}.callback-r${firstRound}-`;
  }

  /** Queues the event of one state change, numbered after the run's previous one. */
  queueEvent(change: Pick<NewMessageEvent, 'state' | 'destination' | 'sender' | 'at'>): void {
    if (!this.enabled) return;
    this.eventSeq += 1;
    // Numbered all the same: whoever records the end from the close numbers it after the run's last event.
    if (this.lean && endsTheRun(change.state as MessageState)) return;
    this.waiting.push({
      kind: 'event',
      event: {
        messageId: this.messageId,
        runId: this.runId,
        seq: this.eventSeq,
        state: change.state,
        destination: change.destination,
        sender: change.sender,
        at: change.at,
      },
    });
  }

  /** Queues a callback to `url` carrying `payload`, the message's outcome (already a copy). */
  queueCallback(url: string, message: Message, payload: unknown): void {
    if (!this.enabled) return;
    this.callbackCount += 1;
    this.waiting.push({
      kind: 'callback',
      input: {
        callbackId: `${this.callbackPrefix}${this.callbackCount}`,
        messageId: this.messageId,
        url,
        sender: message.sender ?? null,
        payload,
        // Only what a dead-lettered callback needs: the full message (body, credentials in headers) stays
        // with the message, not copied into every callback.
        message: {
          id: message.id,
          destination: { url: message.destination.url },
          ...(message.metadata ? { metadata: message.metadata } : {}),
        },
        round: 1,
      },
    });
  }

  /** Whether an effect waits to run. */
  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** Whether nothing waits and nothing runs: the workflow may end. */
  get idle(): boolean {
    return this.waiting.length === 0 && !this.running && !this.publishing && !this.starting && this.handedOff === null;
  }

  /** Takes the next effect to run (one lane, in order); the runner calls `done()` when it has run (or failed). */
  take(): SideEffect | undefined {
    const effect = this.waiting.shift();
    if (effect) this.running = true;
    return effect;
  }

  // Two lanes, for runs that publish after commit: events in batches, callbacks one by one, neither
  // waiting for the other (they reach different receivers), each in its own order.

  /** Whether an event waits to be published. */
  get hasWaitingEvents(): boolean {
    return this.waiting.some((effect) => effect.kind === 'event');
  }

  /** Whether a callback waits to be started. */
  get hasWaitingCallbacks(): boolean {
    return this.waiting.some((effect) => effect.kind === 'callback');
  }

  /**
   * Takes every waiting event, in order, to publish in one call (whatever was queued while the
   * previous publish was in flight); `eventsDone()` when it has run.
   */
  takeEvents(): NewMessageEvent[] {
    const events = this.waiting.flatMap((effect) => (effect.kind === 'event' ? [effect.event] : []));
    if (events.length === 0) return events;
    this.waiting = this.waiting.filter((effect) => effect.kind !== 'event');
    this.publishing = true;
    this.inFlight = events;
    return events;
  }

  /** The events taken last are published (or failed). */
  eventsDone(): void {
    this.publishing = false;
    this.inFlight = [];
  }

  /**
   * Lean runs: takes the events the delivery activity about to be scheduled appends before its first
   * HTTP request, which Temporal runs only after the task that scheduled it committed. It carries every
   * event not known written, the batch in flight too, so it never writes an event before an earlier one.
   */
  handOffEvents(): NewMessageEvent[] {
    const waiting = this.waiting.flatMap((effect) => (effect.kind === 'event' ? [effect.event] : []));
    this.waiting = this.waiting.filter((effect) => effect.kind !== 'event');
    this.handedOff = waiting;
    return [...this.inFlight, ...waiting];
  }

  /**
   * The delivery activity has ended. `written`: it succeeded, so it appended them; otherwise they go
   * back to the front of the queue and the next publish writes them (again, if it had: appends are idempotent).
   */
  handOffDone(written: boolean): void {
    const handed = this.handedOff ?? [];
    this.handedOff = null;
    if (!written) this.waiting.unshift(...handed.map((event): SideEffect => ({ kind: 'event', event })));
  }

  /** Takes the next waiting callback; `callbackDone()` when it has started. */
  takeCallback(): CallbackInput | undefined {
    const index = this.waiting.findIndex((effect) => effect.kind === 'callback');
    const [effect] = index < 0 ? [] : this.waiting.splice(index, 1);
    if (effect?.kind !== 'callback') return undefined;
    this.starting = true;
    return effect.input;
  }

  /** The callback taken last has started (or failed). */
  callbackDone(): void {
    this.starting = false;
  }

  /** The effect taken last has run. */
  done(): void {
    this.running = false;
  }
}

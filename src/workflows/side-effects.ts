/**
 * What a message tells the world besides its status: an event for every state change (the event log
 * and its SSE streams) and a callback to each subscriber when it reaches an outcome. Pure: this queue
 * numbers and builds them; side-effect-runner.ts runs them in order, one effect (or one batch of
 * events) at a time.
 */
import type { CallbackInput } from '../contract/callback';
import type { Message } from '../contract/message';
import type { NewMessageEvent } from '../contract/message-event';

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
}

/** One message's events and callbacks, waiting to run in the order they happened. */
export class SideEffectQueue {
  readonly enabled: boolean;
  readonly messageId: string;
  private readonly runId: string;
  private readonly callbackPrefix: string;
  private readonly waiting: SideEffect[] = [];
  private running = false;
  private eventSeq = 0;
  private callbackCount = 0;

  constructor({ messageId, runId, firstRound, enabled }: SideEffectQueueOptions) {
    this.enabled = enabled;
    this.messageId = messageId;
    this.runId = runId;
    this.callbackPrefix = firstRound === 1 ? `${messageId}.callback-` : `${messageId}.callback-r${firstRound}-`;
  }

  /** Queues the event of one state change, numbered after the run's previous one. */
  queueEvent(change: Pick<NewMessageEvent, 'state' | 'destination' | 'sender' | 'at'>): void {
    if (!this.enabled) return;
    this.eventSeq += 1;
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
    return this.waiting.length === 0 && !this.running;
  }

  /** Takes the next effect to run; the runner calls `done()` when it has run (or failed). */
  take(): SideEffect | undefined {
    const effect = this.waiting.shift();
    if (effect) this.running = true;
    return effect;
  }

  /**
   * Takes every event waiting at the head of the queue, to publish in one call (whatever was queued
   * while the previous publish was in flight), or else the next callback. `done()` when it has run.
   */
  takeBatch(): SideEffectBatch | undefined {
    const first = this.waiting[0];
    if (!first) return undefined;
    this.running = true;
    if (first.kind === 'callback') {
      this.waiting.shift();
      return first;
    }
    const events: NewMessageEvent[] = [];
    for (let next = this.waiting[0]; next?.kind === 'event'; next = this.waiting[0]) {
      events.push(next.event);
      this.waiting.shift();
    }
    return { kind: 'events', events };
  }

  /** The effect taken last has run. */
  done(): void {
    this.running = false;
  }
}

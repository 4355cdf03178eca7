/**
 * One run of one message: its status and every rule that changes it, with no Temporal calls, so the
 * rules are plain code with plain tests. The deliverMessage workflow does the waiting and the
 * activities; its handlers and its main flow change the message only through this class.
 *
 * Handlers are registered before the input is validated (so early signals are not lost): every rule
 * here holds for a run whose message is not known yet.
 */
import { CALLBACK_STATES, outcomePayload } from '../contract/callback';
import { destinationHost, validateMessage, type FieldError, type Message } from '../contract/message';
import {
  isSameReply,
  isTerminal,
  type AttemptRecord,
  type DeadLetterReason,
  type Hold,
  type LastError,
  type MessageState,
  type MessageStatus,
  type ReplyInput,
  type ReplyRecord,
} from '../contract/message-status';
import { validateReply } from '../contract/reply';
import { OrderingTurn, type OrderingStart } from './ordering-turn';
import { SideEffectQueue } from './side-effects';

/** Callback URLs one message may have. */
export const MAX_SUBSCRIPTIONS = 20;

/** The states each state may move to. Anything else is a bug in the workflow, never a wish of a caller. */
export const STATE_TRANSITIONS: Readonly<Record<MessageState, readonly MessageState[]>> = {
  accepted: ['delivering', 'rejected', 'cancelled'],
  delivering: ['paused', 'delivered', 'awaiting_reply', 'replied', 'dead_lettered', 'cancelled'],
  // Held by its destination between attempts; it goes on from where it was (and may end, as delivering may).
  paused: ['delivering', 'delivered', 'awaiting_reply', 'replied', 'dead_lettered', 'cancelled'],
  awaiting_reply: ['replied', 'dead_lettered', 'cancelled'],
  // A redrive delivers again; a cancel that raced the failed attempt ends the redriven round before it starts.
  // A discard ends it (runs from before the committed-events patch stay dead_lettered instead).
  dead_lettered: ['delivering', 'cancelled', 'discarded'],
  replied: [],
  delivered: [],
  cancelled: [],
  rejected: [],
  discarded: [],
  // Never entered by the workflow, which cannot report its own end: the API reads them from the execution.
  terminated: [],
  timed_out: [],
};

/** A state change the transition table does not allow. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: MessageState,
    readonly to: MessageState,
  ) {
    super(`a message cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/**
 * The first delivery round of a run. A run started to redrive a dead letter whose workflow had ended
 * continues the old run's rounds (memo `redriveOf.round`, see temporal/dead-letter-operations.ts), so its
 * dead letter, events and callbacks never collide with the first run's.
 */
export function firstRoundOf(memo: Record<string, unknown> | undefined): number {
  const redriveOf = memo?.redriveOf as { round?: unknown } | undefined;
  return (typeof redriveOf?.round === 'number' ? redriveOf.round : 0) + 1;
}

/** The line the Web UI shows as the workflow's current details. */
export function currentDetails(status: MessageStatus): string {
  return `**${status.state}** · ${status.attempts.length} attempt(s) · ${status.destination || 'no destination'}`;
}

/** Something in flight that can be told to stop (the delivery's cancellation scope). */
export interface Stoppable {
  cancel(): void;
}

export type Validation = { ok: true; message: Message } | { ok: false; reason: string; errors: FieldError[] };

export interface MessageRunOptions {
  /** The workflow id, which is the message id. */
  id: string;
  /** The workflow run; it numbers its events. */
  runId: string;
  /** 1, or where a restarted run continues (see `firstRoundOf`). */
  firstRound?: number;
  /** Whether this run has events and callbacks (runs started before that patch have neither). */
  publishing: boolean;
  /**
   * Whether a discard ends the message in its own `discarded` state. Runs started before the
   * committed-events patch keep `dead_lettered` with `discardedAt`, as they always did.
   */
  discardedState?: boolean;
  /** Lean event publishing (runs since herald-lean-events-v3, see SideEffectQueue's `lean`). */
  lean?: boolean;
  /** The clock; in a workflow `Date` is the workflow's deterministic time. */
  now?: () => string;
  /** Told after every state change, before its event is queued (the workflow updates search attributes). */
  onStateChange?: (status: MessageStatus) => void;
  /** The message's place on its ordering key, from the start (absent: no key, no ordering). */
  ordering?: OrderingStart;
  /**
   * Sends `predecessorReleased` to these successors (the workflow's signals); each answered send is
   * reported back with `orderingReleaseEnded`.
   */
  releaseSuccessors?: (successors: string[]) => void;
  /** What the run this one continues (continue-as-new) handed over; its first round is `round`. */
  continued?: ContinuedRun;
}

/**
 * What a run hands the next when it continues as new (see deliver-message.ts): the message's status,
 * attempts and redrives whole, and the callbacks it owes, so the message reads as one across runs.
 */
export interface ContinuedRun {
  /** The first round of the next run. */
  round: number;
  status: MessageStatus;
  subscriptions: string[];
}

/** Whether a start option is a ContinuedRun for message `id` (any client can start the workflow). */
export function isContinuedRun(value: unknown, id: string): value is ContinuedRun {
  const run = value as Partial<ContinuedRun> | null | undefined;
  return (
    typeof run === 'object' &&
    run !== null &&
    Number.isInteger(run.round) &&
    (run.round ?? 0) > 1 &&
    typeof run.status === 'object' &&
    run.status?.id === id &&
    Array.isArray(run.status.attempts) &&
    Array.isArray(run.subscriptions) &&
    run.subscriptions.every((url) => typeof url === 'string')
  );
}

/** The state and rules of one message run (see the file comment). */
export class MessageRun {
  /** What the `status` query answers and the workflow returns; callers read it, only this class writes it. */
  readonly status: MessageStatus;
  /** Events and callbacks waiting to run. */
  readonly effects: SideEffectQueue;
  readonly firstRound: number;
  private readonly clock: () => string;
  private readonly onStateChange: (status: MessageStatus) => void;
  private readonly discardedState: boolean;
  private validated: Message | undefined;
  private readonly subscriptions: string[] = [];
  /** Whether this run continues an earlier one (it was accepted there: not again here). */
  private readonly continues: boolean;
  private pendingReply: ReplyRecord | null = null;
  private cancelRequest: { reason: string; at: string } | null = null;
  private redriveRequested = false;
  private discardRequested = false;
  private delivery: Stoppable | undefined;
  private readonly releaseSuccessors: (successors: string[]) => void;
  private releasesSent = 0;
  private releasesAnswered = 0;
  /** The message's turn on its ordering key; undefined without a key. */
  readonly ordering: OrderingTurn | undefined;

  constructor(options: MessageRunOptions) {
    this.clock = options.now ?? (() => new Date().toISOString());
    this.onStateChange = options.onStateChange ?? (() => undefined);
    this.firstRound = options.continued?.round ?? options.firstRound ?? 1;
    this.continues = options.continued !== undefined;
    this.discardedState = options.discardedState ?? false;
    this.effects = new SideEffectQueue({
      messageId: options.id,
      runId: options.runId,
      firstRound: this.firstRound,
      enabled: options.publishing,
      lean: options.lean,
    });
    const release = options.releaseSuccessors ?? (() => undefined);
    this.releaseSuccessors = (successors) => {
      this.releasesSent += successors.length;
      release(successors);
    };
    this.ordering = options.ordering && new OrderingTurn(options.ordering, this.releaseSuccessors);
    const createdAt = this.clock();
    this.status = {
      id: options.id,
      state: 'accepted',
      destination: '',
      attempts: [],
      lastError: null,
      nextAttemptAt: null,
      reply: null,
      deadLetter: null,
      rejection: null,
      cancellation: null,
      redrives: 0,
      ordering: this.ordering?.status ?? null,
      ignored: [],
      createdAt,
      updatedAt: createdAt,
    };
    if (options.continued) {
      Object.assign(this.status, options.continued.status);
      this.subscriptions.push(...options.continued.subscriptions);
    }
  }

  /** What the next run needs to go on where this one stops (continue-as-new, before round `round`). */
  continuation(round: number): ContinuedRun {
    return { round, status: { ...this.status }, subscriptions: [...this.subscriptions] };
  }

  /** The current time, as the run records it. */
  now(): string {
    return this.clock();
  }

  /** The message, once its input has passed validation (kept even when its id is then refused). */
  get message(): Message | undefined {
    return this.validated;
  }

  // --- Validation -------------------------------------------------------------------------------

  /**
   * Validates the workflow's input: any client can start the workflow, the Temporal CLI included.
   * On success the destination is known, the message's own callback is subscribed and `accepted` is published.
   * `wireRulesApply` is asked only when the header and URL rules alone refuse the input: a message started
   * before those rules existed keeps being delivered as it was (the workflow answers with `patched`).
   */
  validate(input: unknown, wireRulesApply: () => boolean = () => true): Validation {
    let validated = validateMessage(input);
    if (!validated.ok) {
      const before = validateMessage(input, { wireRules: false });
      if (before.ok && !wireRulesApply()) validated = before;
    }
    if (!validated.ok) {
      return { ok: false, reason: 'the message does not match the message schema', errors: validated.errors };
    }
    const message = validated.value;
    this.validated = message;
    if (message.id !== this.status.id) {
      return {
        ok: false,
        reason: 'the message id must equal the workflow id',
        errors: [{ field: '/id', message: `must be ${this.status.id}` }],
      };
    }
    this.status.destination = destinationHost(message.destination.url);
    // A continued run took the message, and its callback, in the first run.
    if (this.continues) return { ok: true, message };
    if (message.callback) this.subscriptions.push(message.callback.url);
    this.publish('accepted');
    return { ok: true, message };
  }

  /** Ends the message as rejected: its input, or the limits its plan breaks, cannot be delivered. */
  reject(reason: string, errors: FieldError[]): void {
    this.status.rejection = { reason, errors };
    this.setState('rejected');
  }

  // --- State and attempts -----------------------------------------------------------------------

  /** Moves to `state` if the transition table allows it; throws otherwise (a bug, which fails the workflow task). */
  setState(state: MessageState): void {
    const from = this.status.state;
    if (!STATE_TRANSITIONS[from].includes(state)) throw new IllegalTransitionError(from, state);
    this.status.state = state;
    this.status.updatedAt = this.clock();
    this.onStateChange(this.status);
    this.publish(state);
    this.ordering?.stateEntered(state);
  }

  /** Records an HTTP attempt once, however often it is reported (signal and activity result both report it). */
  recordAttempt(attempt: AttemptRecord): void {
    const known = this.status.attempts.some((a) => a.round === attempt.round && a.attempt === attempt.attempt);
    if (!known) this.status.attempts.push(attempt);
    // An attempt was made, so nothing holds the message now (its release signal may come later, or never).
    if (!known && this.status.state === 'paused') this.resumeFromHold();
    const latest = this.status.attempts[this.status.attempts.length - 1];
    this.status.nextAttemptAt =
      latest?.nextDelayMs != null ? new Date(Date.parse(latest.finishedAt) + latest.nextDelayMs).toISOString() : null;
    this.status.updatedAt = this.clock();
  }

  /**
   * The delivery's destination holds it (`hold`) or lets it go (null). Only a delivery in flight is
   * held: a signal that arrives after the delivery ended (it races the activity's result) changes nothing.
   */
  deliveryHeld(hold: Hold | null): void {
    const { state } = this.status;
    if (state !== 'delivering' && state !== 'paused') return;
    if (hold) {
      this.status.hold = hold;
      if (state === 'delivering') this.setState('paused');
      else this.status.updatedAt = this.clock();
      return;
    }
    this.resumeFromHold();
  }

  /** Leaves `paused` for `delivering`: an attempt goes ahead (or the hold was lifted). */
  private resumeFromHold(): void {
    if (this.status.hold) this.status.hold = null;
    if (this.status.state === 'paused') this.setState('delivering');
  }

  /** A delivery is in flight: a reply or a cancel stops it through `scope`. */
  deliveryStarted(scope: Stoppable): void {
    this.delivery = scope;
  }

  /** The delivery in flight has ended, whichever way. */
  deliveryEnded(): void {
    this.delivery = undefined;
    // A hold belongs to the delivery that asked for it; the state it left is the next transition's `from`.
    if (this.status.hold) this.status.hold = null;
  }

  /** The delivery activity succeeded with its last attempt. */
  deliverySucceeded(attempt: AttemptRecord): void {
    this.recordAttempt(attempt);
    this.status.nextAttemptAt = null;
  }

  /**
   * The delivery activity ended in an error. True when the round counts as delivered anyway: a reply
   * proves delivery (they can land in the same activation), and a cancellation we asked for on the
   * sender's behalf ends the round as cancelled, not failed.
   */
  deliveryInterrupted(cancelled: boolean): boolean {
    this.status.nextAttemptAt = null;
    return this.pendingReply !== null || (cancelled && this.cancelRequest !== null);
  }

  /** The delivery failed for good: what its last attempt said. */
  deliveryFailed(attempt: AttemptRecord | undefined, lastError: LastError): void {
    if (attempt) this.recordAttempt(attempt);
    this.status.lastError = lastError;
  }

  // --- Replies ----------------------------------------------------------------------------------

  /** Why `reply` cannot be taken now, or undefined when it can. */
  replyRefusal(reply: ReplyInput | undefined): string | undefined {
    // An identical resend (a replier whose first POST timed out) is the reply already taken: not refused.
    if (this.isResend(reply)) return undefined;
    if (!this.validated) return 'the message has not been validated yet';
    if (!this.validated.reply) return 'this message does not expect a reply';
    // Ended first: the answer must not depend on whether the workflow is still draining its events.
    if (isTerminal(this.status.state)) return `the message has ended (${this.status.state})`;
    if (this.pendingReply || this.status.reply) return 'a reply was already received';
    if (this.cancelRequest) return 'the message is being cancelled';
    return validateReply(reply);
  }

  /** A reply by signal: taken when acceptable, otherwise recorded as ignored (a signal cannot be refused). */
  replyBySignal(reply: ReplyInput): void {
    const refusal = this.replyRefusal(reply);
    if (refusal) {
      this.status.ignored.push({ kind: 'reply', reason: refusal, at: this.clock() });
      return;
    }
    this.takeReply(reply, 'signal');
  }

  /** Takes a reply already found acceptable; a reply proves delivery, so retrying still going on stops. */
  takeReply(reply: ReplyInput, via: ReplyRecord['via']): void {
    if (this.isResend(reply)) return;
    this.pendingReply = { ...reply, receivedAt: this.clock(), via };
    this.delivery?.cancel();
  }

  /** Whether `reply` is the reply already taken (or recorded), sent again. */
  isResend(reply: ReplyInput | undefined): boolean {
    return isSameReply(reply, this.pendingReply ?? this.status.reply);
  }

  /** Whether a reply has been taken and not yet recorded as the outcome. */
  get hasReply(): boolean {
    return this.pendingReply !== null;
  }

  /** Whether a reply update can answer: the reply is the outcome, or the message ended without it. */
  get replySettled(): boolean {
    return this.status.reply !== null || isTerminal(this.status.state);
  }

  /** Ends the message as replied with the reply taken. */
  replied(): void {
    this.status.reply = this.pendingReply;
    this.setState('replied');
  }

  /** No reply came within the timeout: the error the dead letter records. */
  replyTimedOut(timeoutMs: number): void {
    this.status.lastError = { type: 'ReplyTimeoutError', message: `no reply within ${timeoutMs}ms` };
  }

  // --- Cancellation -----------------------------------------------------------------------------

  /** Why a cancel is ignored, or undefined when it is taken. */
  cancelRefusal(): string | undefined {
    if (isTerminal(this.status.state) || this.cancelRequest) return `the message has ended (${this.status.state})`;
    return undefined;
  }

  /** A sender's cancel: taken when the message has not ended (delivery in flight stops), else recorded as ignored. */
  requestCancel(reason: string | undefined): void {
    const refusal = this.cancelRefusal();
    if (refusal) {
      this.status.ignored.push({ kind: 'cancel', reason: refusal, at: this.clock() });
      return;
    }
    this.cancelRequest = { reason: reason ?? 'cancelled by request', at: this.clock() };
    this.delivery?.cancel();
  }

  /** Whether a sender asked to cancel. */
  get cancelRequested(): boolean {
    return this.cancelRequest !== null;
  }

  /** Ends the message as cancelled: by the sender's request, or because its workflow was cancelled. */
  cancel(): void {
    this.status.cancellation = this.cancelRequest ?? { reason: 'workflow cancelled', at: this.clock() };
    this.status.nextAttemptAt = null;
    this.setState('cancelled');
  }

  // --- Dead letters: park, redrive, discard -----------------------------------------------------

  /** The dead letter is written: the message parks for `retentionMs`, waiting for a redrive or a discard. */
  parked(reason: DeadLetterReason, at: string, round: number, retentionMs: number): void {
    this.status.deadLetter = {
      reason,
      at,
      round,
      retainedUntil: new Date(Date.parse(at) + retentionMs).toISOString(),
    };
    this.setState('dead_lettered');
  }

  /** Whether the message is parked as a dead letter. */
  get isParked(): boolean {
    return this.status.state === 'dead_lettered' && this.status.deadLetter !== null;
  }

  /** Why a redrive is refused, or undefined when it is allowed. */
  redriveRefusal(): string | undefined {
    if (this.status.state !== 'dead_lettered' || this.redriveRequested) {
      return `only a dead-lettered message can be redriven; this one is ${this.status.state}`;
    }
    return undefined;
  }

  /** Why a discard is refused, or undefined when it is allowed. */
  discardRefusal(): string | undefined {
    if (this.status.state !== 'dead_lettered' || this.redriveRequested || this.discardRequested) {
      return `only a parked dead-lettered message can be discarded; this one is ${this.status.state}`;
    }
    return undefined;
  }

  /** An operator asked to redrive (allowed by `redriveRefusal`). */
  requestRedrive(): void {
    this.redriveRequested = true;
  }

  /** An operator asked to discard (allowed by `discardRefusal`). */
  requestDiscard(): void {
    this.discardRequested = true;
  }

  /** Whether an operator has decided about the parked dead letter. */
  get decided(): boolean {
    return this.redriveRequested || this.discardRequested;
  }

  /** Whether the operator's decision was to discard. */
  get discardChosen(): boolean {
    return this.discardRequested;
  }

  /** Whether the dead letter has been discarded (what a discard update waits for). */
  get discarded(): boolean {
    return this.status.deadLetter?.discardedAt !== undefined;
  }

  /** Whether the message has left the dead letter (what a redrive update waits for). */
  get redriveStarted(): boolean {
    return this.status.state !== 'dead_lettered';
  }

  /**
   * The operator's discard is recorded, and the workflow ends: the message is `discarded` (older runs
   * stay dead-lettered). The dead letter stays in the status, with when it was discarded.
   */
  discard(at: string): void {
    this.status.deadLetter = { ...this.status.deadLetter!, discardedAt: at };
    this.status.updatedAt = at;
    if (this.discardedState) this.setState('discarded');
  }

  /**
   * The parked workflow was cancelled: the dead letter is discarded with it. Older runs stay
   * dead-lettered and keep updatedAt, as they always have.
   */
  discardByCancellation(at: string): void {
    this.status.deadLetter = { ...this.status.deadLetter!, discardedAt: at };
    if (this.discardedState) this.setState('discarded');
  }

  /** The redrive is recorded: the next round starts afresh, with no reply carried over. */
  redriven(): void {
    this.redriveRequested = false;
    this.pendingReply = null;
    this.status.redrives += 1;
    this.status.deadLetter = null;
  }

  // --- Ordered delivery -------------------------------------------------------------------------

  /** Whether delivery waits for the predecessor on the ordering key. */
  get waitingForPredecessor(): boolean {
    return this.ordering?.waiting ?? false;
  }

  /**
   * A message registered as the next one after this on its ordering key. A run without a key holds
   * nobody back (it was started without its place, by the CLI, or restarted after retention): released at once.
   */
  successorWaiting(id: string): void {
    if (this.ordering) this.ordering.successorWaiting(id);
    else this.releaseSuccessors([id]);
  }

  /** The predecessor on the ordering key released this message. */
  predecessorReleased(id: string): void {
    this.ordering?.predecessorReleased(id);
    this.status.updatedAt = this.clock();
  }

  /** The predecessor could not be signalled (it has ended): nothing is ahead any more. */
  predecessorGone(): void {
    this.ordering?.predecessorGone();
    this.status.updatedAt = this.clock();
  }

  /** The run is about to complete: whoever waits behind it goes now. */
  runEnding(): void {
    this.ordering?.runEnding();
  }

  /** One release signal has been answered. */
  orderingReleaseEnded(): void {
    this.releasesAnswered += 1;
  }

  /**
   * Release signals sent and not answered yet: the run waits for them before it completes, so that
   * none is left behind with a closed run.
   */
  get releasesInFlight(): number {
    return this.releasesSent - this.releasesAnswered;
  }

  // --- Subscriptions ----------------------------------------------------------------------------

  /** Why a callback subscription is refused, or undefined when it is allowed. */
  subscribeRefusal(request: { url?: unknown } | undefined): string | undefined {
    if (!this.effects.enabled) return 'this message was started by an earlier Herald version without callbacks';
    if (!this.validated) return 'the message has not been validated yet';
    if (this.status.state === 'rejected') return 'a rejected message has no outcome to report';
    if (typeof request?.url !== 'string' || !/^https?:\/\/\S+$/i.test(request.url)) return 'url must be an http(s) URL';
    if (this.subscriptions.length >= MAX_SUBSCRIPTIONS) return `at most ${MAX_SUBSCRIPTIONS} callbacks per message`;
    return undefined;
  }

  /** Subscribes `url` (allowed by `subscribeRefusal`); a message that already has its outcome reports it at once. */
  subscribe(url: string): { subscriptions: number; notifiedNow: boolean } {
    this.subscriptions.push(url);
    const notifiedNow = this.validated !== undefined && CALLBACK_STATES.includes(this.status.state);
    if (notifiedNow && this.validated) this.queueCallback(url, this.validated);
    return { subscriptions: this.subscriptions.length, notifiedNow };
  }

  /** Queues the event of the state just entered and, on an outcome, a callback to every subscriber. */
  private publish(state: MessageState): void {
    if (!this.effects.enabled) return;
    this.effects.queueEvent({
      state,
      destination: this.status.destination,
      sender: this.validated?.sender ?? null,
      at: this.status.updatedAt,
    });
    if (this.validated && CALLBACK_STATES.includes(state)) {
      for (const url of this.subscriptions) this.queueCallback(url, this.validated);
    }
  }

  private queueCallback(url: string, message: Message): void {
    // A copy: the status goes on changing after this outcome.
    const payload = JSON.parse(JSON.stringify(outcomePayload(this.status, message, this.clock()))) as unknown;
    this.effects.queueCallback(url, message, payload);
  }
}

/**
 * The client-side outbox: every message is written to a local SQLite file before it is sent and
 * removed once the API has accepted it, so a message handed to `send()` survives the API being down
 * and this process being restarted. A background loop drains what is left, backing off exponentially
 * with jitter (the same pure `computeRetryDelay` the worker uses for deliveries).
 */
import { EventEmitter } from 'node:events';
import type { Static } from '@sinclair/typebox';
import type { AcceptedMessageSchema } from '../contract/operation-results';
import { computeRetryDelay } from '../retry/backoff';
import type { MessageInput } from '../contract/message';
import { canonicalJson } from '../contract/canonical-json';
import {
  ClientClosedError,
  HeraldApiError,
  HeraldUnreachableError,
  isTransientFailure,
  OutboxConflictError,
} from './errors';
import { OutboxStore, type FailedEntry } from './outbox-store';

/** What the API answers when it accepts a message (POST /v1/messages). */
export type Accepted = Static<typeof AcceptedMessageSchema>;

/** A message with its id settled (the client assigns one when the caller gave none). */
export type OutboundMessage = MessageInput & { id: string };

/** How the outbox spaces its attempts while the API is unreachable. */
export interface OutboxRetrySettings {
  /**
   * Delay before the second attempt, in milliseconds.
   * @defaultValue 1000
   */
  initialIntervalMs: number;
  /**
   * Cap on any delay, in milliseconds. Also caps a Retry-After the API sends with a 503 or a 429 (the API
   * refusing new messages while Temporal is behind): the outbox waits the Retry-After, up to this.
   * @defaultValue 60000
   */
  maximumIntervalMs: number;
  /**
   * Fraction of each delay randomised away (0 to 1): a delay is drawn from [base × (1 − jitter), base],
   * so many clients that lost the API together do not come back in one wave.
   * @defaultValue 0.2
   */
  jitter: number;
}

/** The outbox settings a client starts with when it is given none. */
export const DEFAULT_OUTBOX_RETRY: Readonly<OutboxRetrySettings> = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 60_000,
  jitter: 0.2,
};

/** Each delay doubles the one before (up to the maximum): the usual choice, and not worth a setting. */
const BACKOFF_COEFFICIENT = 2;

export interface OutboxOptions {
  /** The SQLite file (created with its directory when missing). Clients that share a path share one outbox. */
  path: string;
  /**
   * Backoff while the API is unreachable; any field left out keeps its default. Change it at runtime
   * with {@link Outbox.configure}.
   * @defaultValue {@link DEFAULT_OUTBOX_RETRY}
   */
  retry?: Partial<OutboxRetrySettings>;
  /**
   * The outbox's on/off switch at start. When off (paused), `send()` writes the message to the outbox
   * and resolves `queued` without contacting the API, and nothing is drained until
   * {@link Outbox.resume}.
   * @defaultValue true
   */
  enabled?: boolean;
  /**
   * How many queued messages one drain sends at a time.
   * @defaultValue 4
   */
  concurrency?: number;
}

/** A queued message the API has now accepted. */
export interface OutboxSentEvent {
  id: string;
  state: Accepted['state'];
  /** True when the API already had this message (e.g. an earlier send was accepted but its answer lost). */
  existing: boolean;
}

/** A queued message the API refused (a 4xx): it is recorded in {@link Outbox.failures} and not sent again. */
export interface OutboxFailedEvent {
  id: string;
  message: OutboundMessage;
  error: HeraldApiError;
}

/** The API could not take queued messages; the loop waits `delayMs` before trying again. */
export interface OutboxBackoffEvent {
  /** Consecutive drain passes that failed. */
  failures: number;
  delayMs: number;
  error: Error;
}

/** Events of {@link Outbox}. */
export interface OutboxEvents {
  sent: [OutboxSentEvent];
  failed: [OutboxFailedEvent];
  backoff: [OutboxBackoffEvent];
}

/** What one drain pass did. */
export interface DrainResult {
  /** Messages the API accepted. */
  sent: number;
  /** Messages the API refused (now in {@link Outbox.failures}). */
  failed: number;
  /** Messages still queued after the pass. */
  pending: number;
}

/** Where a message stands in the local outbox. */
export type LocalState = { state: 'pending' } | { state: 'failed'; error: HeraldApiError } | { state: 'absent' };

/** Sends one message to the API (POST /v1/messages). */
export type SubmitMessage = (message: OutboundMessage, signal: AbortSignal) => Promise<Accepted>;

type Outcome =
  | { kind: 'sent'; accepted: Accepted }
  | { kind: 'refused'; error: HeraldApiError }
  | { kind: 'retry'; error: Error; retryAfterMs: number | undefined };

/**
 * The client's durable outbox (`herald.outbox`).
 *
 * Failures of messages that were already queued are reported with the `failed` event
 * (`herald.outbox.on('failed', ({ id, error }) => …)`) and kept in {@link Outbox.failures}; a message the API
 * refuses while `send()` is still waiting for it is not an event: that `send()` rejects with the
 * HeraldApiError instead. Timers are unref'd: the loop never keeps a process alive on its own.
 */
export class Outbox extends EventEmitter<OutboxEvents> {
  private readonly store: OutboxStore<OutboundMessage>;
  private settings: OutboxRetrySettings;
  private paused: boolean;
  private readonly concurrency: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private passes: Promise<unknown> = Promise.resolve();
  private passRunning = false;
  /** Drain passes in a row in which the API took nothing. */
  private consecutiveFailures = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly aborter = new AbortController();

  /** @internal Made by HeraldClient. */
  constructor(
    options: OutboxOptions,
    private readonly submit: SubmitMessage,
    /** How long a sender holds an entry: longer than any request can take. */
    private readonly leaseMs: number,
  ) {
    super();
    this.settings = validated({ ...DEFAULT_OUTBOX_RETRY, ...options.retry });
    this.paused = options.enabled === false;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.store = new OutboxStore<OutboundMessage>(options.path);
    // Whatever an earlier process left behind is sent now.
    if (!this.paused) this.schedule(0);
  }

  /** The retry settings in force. */
  get retrySettings(): Readonly<OutboxRetrySettings> {
    return { ...this.settings };
  }

  /** Whether the outbox is paused (the switch is off). */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Changes the retry settings at runtime; fields left out keep their value. Waits already under way
   * (the loop's and each queued message's) are shortened to the new maximum interval.
   */
  configure(settings: Partial<OutboxRetrySettings>): void {
    this.assertOpen();
    this.settings = validated({ ...this.settings, ...settings });
    const latest = Date.now() + this.settings.maximumIntervalMs;
    this.store.capSchedule(latest);
    if (this.timer && !this.paused && this.timerAt > latest) this.schedule(this.settings.maximumIntervalMs);
  }

  /** Turns the switch off: nothing is sent from now on (a drain under way stops after its current batch); `send()` only queues. */
  pause(): void {
    this.assertOpen();
    this.paused = true;
    this.clearTimer();
  }

  /** Turns the switch on and starts draining at once. */
  resume(): void {
    this.assertOpen();
    this.paused = false;
    this.schedule(0);
  }

  /** How many messages wait in the outbox. */
  pending(): number {
    this.assertOpen();
    return this.store.pendingCount();
  }

  /**
   * One immediate pass over everything queued, due or not (also while paused: it is an explicit
   * request). Stops early when the API is unreachable. Resolves when the pass is done.
   */
  async drain(): Promise<DrainResult> {
    this.assertOpen();
    return this.runPass(true);
  }

  /** Messages the API refused after they were queued, oldest first. */
  failures(): FailedEntry<OutboundMessage>[] {
    this.assertOpen();
    return this.store.failures();
  }

  /** @internal Where one message stands locally (used by `result()` of queued messages). */
  localState(id: string): LocalState {
    if (this.closed) return { state: 'absent' };
    if (this.store.isPending(id)) return { state: 'pending' };
    const failure = this.store.failure(id);
    return failure ? { state: 'failed', error: new HeraldApiError(failure.problem) } : { state: 'absent' };
  }

  /**
   * @internal HeraldClient.send with an outbox: writes the message, then tries the API once.
   * Resolves with the acceptance, or `queued` when the API could not take it now; rejects with
   * HeraldApiError when the API refused it (and the entry is gone).
   */
  async send(message: OutboundMessage): Promise<{ queued: false; accepted: Accepted } | { queued: true }> {
    this.assertOpen();
    const now = Date.now();
    const written = this.store.insert(message, now, now + this.leaseMs);
    if (!written.inserted) {
      // A resend of a queued message: the entry already there is the one to deliver.
      if (canonicalJson(written.existing) !== canonicalJson(message)) throw new OutboxConflictError(message.id);
      return { queued: true };
    }
    if (this.paused) {
      this.store.release(message.id);
      return { queued: true };
    }
    const outcome = await this.track(this.sendOne(message, 'direct'));
    switch (outcome.kind) {
      case 'sent':
        if (this.consecutiveFailures > 0) {
          // The API is back: what waits for the next backoff can go now.
          this.consecutiveFailures = 0;
          this.schedule(0);
        }
        return { queued: false, accepted: outcome.accepted };
      case 'refused':
        throw outcome.error;
      case 'retry':
        if (!this.timer && !this.passRunning && !this.closed && !this.paused) {
          this.schedule(Math.max(0, (this.store.nextDueAt() ?? Date.now()) - Date.now()));
        }
        return { queued: true };
    }
  }

  /** Stops the loop, waits for requests under way (aborting them: their messages stay queued) and closes the file. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.clearTimer();
    this.aborter.abort();
    this.closing = (async () => {
      await Promise.allSettled([...this.inFlight, this.passes]);
      this.store.close();
    })();
    return this.closing;
  }

  /** Sends one leased entry and records what happened to it. */
  private async sendOne(message: OutboundMessage, origin: 'direct' | 'drain'): Promise<Outcome> {
    try {
      const accepted = await this.submit(message, this.aborter.signal);
      this.store.remove(message.id);
      return { kind: 'sent', accepted };
    } catch (error) {
      if (error instanceof HeraldApiError && !isTransientFailure(error)) {
        // Final: sending it again cannot help. A direct send reports it to its caller; a queued one is kept as failed.
        if (origin === 'direct') this.store.remove(message.id);
        else this.store.recordFailure({ id: message.id, message }, error.problem, Date.now());
        return { kind: 'refused', error };
      }
      // Transient, or unexpected: either way the message is safe in the outbox and will be tried again.
      const retryAfterMs = error instanceof HeraldApiError ? error.retryAfterMs : undefined;
      const delayMs = this.delay(this.store.attempts(message.id) + 1, retryAfterMs);
      this.store.recordRetry(message.id, Date.now() + delayMs, describe(error));
      const failure =
        error instanceof Error ? error : new HeraldUnreachableError(String(error), undefined, { cause: error });
      return { kind: 'retry', error: failure, retryAfterMs };
    }
  }

  /** Runs one pass after any pass under way. */
  private runPass(force: boolean): Promise<DrainResult> {
    const pass = this.passes.then(() => this.pass(force));
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  /**
   * One pass: batches of due entries until none is left, each entry tried at most once. A batch in which
   * the API took nothing means it is unreachable: the pass stops and the loop backs off. After the first
   * message the API takes, everything queued counts as due (the API is back; no need to wait out each
   * message's own backoff).
   */
  private async pass(force: boolean): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, failed: 0, pending: 0 };
    if (this.closed) return result;
    this.passRunning = true;
    try {
      const tried = new Set<string>();
      let ignoreSchedule = force;
      while (!this.closed && (force || !this.paused)) {
        const now = Date.now();
        const batch = this.store.claimDue(now, now + this.leaseMs, this.concurrency, {
          ignoreSchedule,
          exclude: tried,
        });
        if (batch.length === 0) break;
        batch.forEach((entry) => tried.add(entry.id));
        const outcomes = await Promise.all(batch.map((entry) => this.track(this.sendOne(entry.message, 'drain'))));
        let answered = 0;
        let lastRetry: Extract<Outcome, { kind: 'retry' }> | undefined;
        let rateLimited: Extract<Outcome, { kind: 'retry' }> | undefined;
        outcomes.forEach((outcome, index) => {
          const { id, message } = batch[index]!;
          if (outcome.kind === 'sent') {
            answered += 1;
            result.sent += 1;
            this.emit('sent', { id, state: outcome.accepted.state, existing: outcome.accepted.existing });
          } else if (outcome.kind === 'refused') {
            answered += 1;
            result.failed += 1;
            this.emit('failed', { id, message, error: outcome.error });
          } else {
            lastRetry = outcome;
            if (isRateLimited(outcome.error) && (outcome.retryAfterMs ?? 0) >= (rateLimited?.retryAfterMs ?? 0)) {
              rateLimited = outcome;
            }
          }
        });
        // A 429 is the API asking for less (admission control: Temporal is behind), even when it took
        // some of the batch: the pass stops and the loop waits the longest Retry-After it was given,
        // rather than offering everything else queued at once.
        const slowDown = rateLimited ?? (answered === 0 ? lastRetry : undefined);
        if (slowDown) {
          this.backOff(slowDown.error, slowDown.retryAfterMs);
          return result;
        }
        this.consecutiveFailures = 0;
        ignoreSchedule = true;
      }
      if (!this.closed && !this.paused) {
        const next = this.store.nextDueAt();
        if (next === undefined) this.clearTimer();
        else this.schedule(Math.max(0, next - Date.now()));
      }
      return result;
    } catch (error) {
      // The file itself failed (disk full, say): try again later rather than give up on what is queued.
      if (!this.closed) this.backOff(error instanceof Error ? error : new Error(String(error)), undefined);
      throw error;
    } finally {
      this.passRunning = false;
      if (!this.closed) result.pending = this.store.pendingCount();
    }
  }

  private backOff(error: Error, retryAfterMs: number | undefined): void {
    this.consecutiveFailures += 1;
    const delayMs = this.delay(this.consecutiveFailures, retryAfterMs);
    this.emit('backoff', { failures: this.consecutiveFailures, delayMs, error });
    if (!this.closed && !this.paused) this.schedule(delayMs);
  }

  private delay(attempt: number, retryAfterMs: number | undefined): number {
    const { initialIntervalMs, maximumIntervalMs, jitter } = this.settings;
    return computeRetryDelay({
      attempt,
      policy: { initialIntervalMs, maximumIntervalMs, jitter, backoffCoefficient: BACKOFF_COEFFICIENT },
      retryAfterMs,
      maxRetryAfterMs: maximumIntervalMs,
      random: Math.random(),
    }).delayMs;
  }

  /** (Re)arms the loop's one timer; unref'd, so a waiting outbox never holds the process open. */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.clearTimer();
    this.timerAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      // Errors are already turned into a backoff inside the pass.
      this.runPass(false).catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }
}

/** The API refused for load (429), not for this message. */
function isRateLimited(error: Error): boolean {
  return error instanceof HeraldApiError && error.status === 429;
}

function validated(settings: OutboxRetrySettings): OutboxRetrySettings {
  const { initialIntervalMs, maximumIntervalMs, jitter } = settings;
  if (!Number.isFinite(initialIntervalMs) || initialIntervalMs < 0) {
    throw new RangeError(`initialIntervalMs must be a finite number >= 0 (got ${initialIntervalMs})`);
  }
  if (!Number.isFinite(maximumIntervalMs) || maximumIntervalMs < initialIntervalMs) {
    throw new RangeError(`maximumIntervalMs must be >= initialIntervalMs (got ${maximumIntervalMs})`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be between 0 and 1 (got ${jitter})`);
  return { initialIntervalMs, maximumIntervalMs, jitter };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

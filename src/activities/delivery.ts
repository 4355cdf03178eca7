/**
 * The delivery activity: one HTTP attempt per activity attempt. Temporal's RetryPolicy schedules the
 * attempts; this activity classifies each outcome and, for a retryable one, computes the next delay
 * (backoff, jitter, Retry-After) and hands it to Temporal as `nextRetryDelay`.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { computeRetryDelay, type RetryDelay } from '../retry/backoff';
import { classifyCancellation, classifyStatus, classifyTransportError, type Classification } from '../retry/classify';
import type { DeliveryPlan } from '../retry/delivery-plan';
import { attemptDetailsOf, countedAttempt, type AttemptBudgetDetails } from '../retry/attempt-budget';
import { parseRetryAfter } from '../retry/retry-after';
import { InvalidDestinationError, PermanentDeliveryError, RetryableDeliveryError } from './delivery-errors';
import { isLiteralHostBlocked, type DestinationPolicy } from '../destinations/destination-policy';
import { headerValueProblem, isTransportHeader } from '../contract/header-rules';
import { destinationHost, type Message } from '../contract/message';
import { urlErrors } from '../contract/url-rules';
import type { AttemptRecord, Hold, HoldReason } from '../contract/message-status';
import { DELIVERY_HELD } from '../contract/error-types';
import {
  HOLD_DEADLINE_MARGIN_MS,
  SLOT_LATE_MS,
  VISIBLE_HOLDS,
  type AttemptHoldReason,
  type AttemptTicket,
  type DestinationControl,
} from './destination-control';
import { liveRetryPlan } from '../destinations/live-retry';
import { TokenUnavailableError, type TokenCache } from './token-provider';
import type { NewMessageEvent } from '../contract/message-event';
import type { EventLog } from '../store/event-log';
import { appendInOrder } from './events';
import type { WorkerMetrics } from '../observability/worker-metrics';
import type { BlobStore } from '../blobs/blob-store';
import { verifiedRead } from '../blobs/verified-read';
import { createSigner, secretsForHost, type SecretsByKey } from '../signing/standard-webhooks';
import type { Readable } from 'node:stream';

export interface DeliverInput {
  message: Message;
  round: number;
  plan: DeliveryPlan;
  /**
   * The activity keeps the attempt budget itself: attempts cut by a worker shutdown do not count, and
   * Temporal's maximumAttempts is the plan's plus an allowance (retry/attempt-budget). Absent in the
   * inputs of activities scheduled by older workflow code, whose retry policy counts every attempt.
   */
  shutdownCutsUncounted?: boolean;
  /**
   * State changes the workflow made before scheduling this delivery (lean runs): appended to the event
   * log before the HTTP request. The task that scheduled the activity has committed by then, so they
   * are states the history entered; appends are idempotent, so every attempt writes them again safely.
   */
  events?: NewMessageEvent[];
}

/** What a successful delivery reports back to the workflow. */
export interface DeliveryReceipt {
  attempt: AttemptRecord;
}

export interface DeliveryDependencies {
  tokens: TokenCache;
  /** Which addresses may be called; connections go through a dispatcher that enforces it too. */
  destinationPolicy: DestinationPolicy;
  logger: Logger;
  /** Tells the workflow about an attempt as soon as it ends (see worker.ts); failures here never fail delivery. */
  reportAttempt: (messageId: string, attempt: AttemptRecord) => Promise<void>;
  /** Tells the workflow its destination holds it (it shows `paused`) or lets it go again (null). */
  reportHold?: (messageId: string, hold: Hold | null) => Promise<void>;
  /**
   * Run-time destination settings (pause, retry override, limits, breaker, the global switch), asked
   * before every attempt. Absent (tests of the activity alone), every attempt goes under its plan.
   */
  control?: DestinationControl;
  /** Counts each attempt by destination host, outcome and status class (herald_delivery_attempts_total). */
  metrics: WorkerMetrics;
  /** Where the events a delivery carries are written (DeliverInput.events). */
  events?: EventLog;
  /** undici dispatcher (connection pool); the global one when absent. */
  dispatcher?: Dispatcher;
  /** Where a body by reference (`bodyRef`) is read from; without it such a message cannot be delivered. */
  blobs?: BlobStore;
  /** With tracing on: each request is a client span, child of the attempt's activity span. */
  tracer?: Tracer;
  /**
   * HERALD_DELIVERY_SECRETS by destination host (`*` for any): each request is signed with all of the
   * destination's secrets. A destination without any gets unsigned requests.
   */
  signingSecrets?: SecretsByKey;
  random?: () => number;
  now?: () => Date;
}

interface SendLimits {
  /** One signal for the whole attempt: a token refresh and a second send share its time budget. */
  signal: AbortSignal;
  excerptBytes: number;
}

/**
 * A retry whose recomputed due time is at most this far ahead goes now: Temporal's timer and the
 * activity's clock differ by a few milliseconds, and only a changed policy should hold an attempt.
 */
const DUE_TOLERANCE_MS = 250;

/** Leave part of the attempt timeout for reporting the failure, so the activity (not the server) times the attempt out. */
const REPORTING_MARGIN = 0.1;
const MAX_REPORTING_MARGIN_MS = 2_000;

/**
 * An attempt cut by a worker shutdown is retried this soon (1 ms: Temporal reads a zero delay as "none
 * given" and would fall back to the retry policy's interval), so another worker picks it up at once.
 */
export const WORKER_SHUTDOWN_RETRY_DELAY_MS = 1;

/** Creates the `deliver` activity. */
export function createDeliveryActivities(deps: DeliveryDependencies) {
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;

  /** Sends the message to its destination once; throws a named failure when the attempt did not deliver. */
  async function deliver({
    message,
    round,
    plan,
    shutdownCutsUncounted,
    events,
  }: DeliverInput): Promise<DeliveryReceipt> {
    const info = Context.current().info;
    const activityStartedAt = now().getTime();
    const attempt = info.attempt;
    const details = attemptDetailsOf(info.heartbeatDetails);
    // Attempts that are no fault of the destination (cut by a shutdown, held before any request).
    const uncounted = shutdownCutsUncounted ? details.shutdownCuts + details.held : 0;
    // The attempt in the plan's terms: what backoff and the attempt budget are computed from.
    const counted = countedAttempt(attempt, uncounted);
    // Heartbeat details replace each other: every write carries all of them.
    const beat = (next: Partial<AttemptBudgetDetails>) =>
      Context.current().heartbeat({ ...details, ...next } satisfies AttemptBudgetDetails);
    const host = destinationHost(message.destination.url);
    const startedAt = now();
    const record = (classification: Classification, extra: Partial<AttemptRecord>): AttemptRecord => ({
      round,
      attempt,
      outcome: classification.outcome,
      durationMs: now().getTime() - startedAt.getTime(),
      nextDelayMs: null,
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      ...(classification.outcome === 'delivered' ? {} : { cause: classification.cause }),
      ...extra,
    });

    const unwritten = events?.length ? await appendEvents(events) : undefined;
    if (unwritten) {
      // The log is down: no request is made (a stream must not lag behind a delivery), and the attempt
      // is not counted, as it never reached the destination; Temporal retries it after the backoff.
      beat({ shutdownCuts: details.shutdownCuts + 1 });
      const delay = computeRetryDelay({
        attempt: counted,
        policy: plan.retry,
        maxRetryAfterMs: plan.maxRetryAfterMs,
        random: random(),
      });
      const attemptRecord = record(
        { outcome: 'retryable', cause: 'event_log_unavailable' },
        { errorType: 'RetryableDeliveryError', error: unwritten, nextDelayMs: delay.delayMs },
      );
      await finish(message, attemptRecord, delay);
      throw new RetryableDeliveryError(`not sent: ${unwritten}`, attemptRecord, delay.delayMs);
    }

    const parsed = parseDestination(message, deps.destinationPolicy);
    if (!(parsed instanceof URL)) {
      const url = parsed;
      const attemptRecord = record(
        { outcome: 'permanent', cause: url.cause },
        { errorType: 'InvalidDestinationError', error: url.error },
      );
      await finish(message, attemptRecord);
      throw new InvalidDestinationError(url.error, attemptRecord);
    }
    const url: URL = parsed;
    const stored = message.bodyRef && deps.blobs ? await deps.blobs.get(message.bodyRef.id) : undefined;
    // Only this message's own body: a reference handed in by another client (the Temporal CLI) cannot
    // send another message's body, or a reply, anywhere.
    const missingBody = message.bodyRef && !(stored && stored.messageId === message.id && stored.kind === 'body');
    if (missingBody) {
      // Gone from the store (deleted by hand, or the store is not the one the API wrote to): no retry brings it back.
      const error = `the message's body (blob ${message.bodyRef!.id}) is not in the blob store`;
      const attemptRecord = record(
        { outcome: 'permanent', cause: 'body_missing' },
        { errorType: 'PermanentDeliveryError', error },
      );
      await finish(message, attemptRecord);
      throw new PermanentDeliveryError(error, attemptRecord);
    }

    // Destination control: the live settings decide this attempt's policy, and whether it goes now.
    const live = deps.control ? await deps.control.settingsFor(host) : undefined;
    const retryPlan = liveRetryPlan(plan.retry, live?.destination.retry);
    const { lastFailure } = details;
    if (deps.control && shutdownCutsUncounted && lastFailure) {
      // A retry is due when the live policy says, which may differ from the delay Temporal waited.
      const wait =
        lastFailure.retryAfterMs ??
        computeRetryDelay({
          attempt: lastFailure.attempt,
          policy: retryPlan,
          maxRetryAfterMs: plan.maxRetryAfterMs,
          random: lastFailure.random,
        }).delayMs;
      const dueInMs = lastFailure.at + wait - now().getTime();
      if (dueInMs > DUE_TOLERANCE_MS) {
        await hold('retry_wait', dueInMs, `the retry is due in ${dueInMs} ms under the live retry policy`);
      }
    }
    let ticket: AttemptTicket | undefined;
    let slotWaitMs = 0;
    if (deps.control) {
      const admission = await deps.control.admit(host, {
        isRetry: counted > 1,
        attemptTimeoutMs: retryPlan.attemptTimeoutMs,
        holdStreak: details.holdStreak,
        ...(details.slotAt !== undefined ? { slotAt: details.slotAt } : {}),
      });
      if (!admission.go) await hold(admission.reason, admission.retryInMs, admission.detail, admission.slotAt);
      else {
        ticket = admission.ticket;
        if (details.visibleHold) await reportHold(null);
        slotWaitMs = admission.waitMs;
      }
    }
    // Set once the destination answered (or failed to): what the breaker is told.
    let breakerOutcome: { failure: boolean } | undefined;
    try {
      // The rate-limit slot's time (a cancel during the wait still frees the lease below).
      if (slotWaitMs > 0) {
        const slotAt = now().getTime() + slotWaitMs;
        await Context.current().sleep(slotWaitMs);
        // Woken late (a busy worker), the request would crowd the next slot at the receiver: give the
        // slot up and take another (the lease is freed below, the hold counts as no attempt).
        const lateMs = now().getTime() - slotAt;
        if (lateMs > SLOT_LATE_MS) {
          await hold('rate_limited', 1, `woke ${lateMs} ms after its rate-limit slot; takes another`);
        }
      }
      return await attemptDelivery();
    } finally {
      if (ticket) await deps.control?.settle(ticket, breakerOutcome ?? { sent: false });
    }

    /** Tells the workflow of a hold that starts or ends; a lost signal only delays the live view. */
    async function reportHold(next: Hold | null): Promise<void> {
      try {
        await deps.reportHold?.(message.id, next);
      } catch (error) {
        deps.logger.warn({ messageId: message.id, err: error }, 'could not report hold to workflow');
      }
    }

    /**
     * Ends this activity attempt without a request: Temporal runs the next one after `retryInMs`, and
     * it counts as no attempt of the plan's. The deadline (schedule-to-close) keeps running.
     */
    async function hold(
      reason: AttemptHoldReason | 'retry_wait',
      retryInMs: number,
      detail: string,
      slotAt?: number,
    ): Promise<never> {
      const visible = reason !== 'retry_wait' && VISIBLE_HOLDS.has(reason);
      const at = now();
      // Temporal gives up at once when the next try would start after the deadline (schedule-to-close):
      // the last check is moved to just before it instead (see HOLD_DEADLINE_MARGIN_MS).
      if (info.scheduleToCloseTimeoutMs > 0) {
        const leftMs = info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - at.getTime();
        if (leftMs > 2 * HOLD_DEADLINE_MARGIN_MS) retryInMs = Math.min(retryInMs, leftMs - HOLD_DEADLINE_MARGIN_MS);
      }
      const same = visible && details.visibleHold?.reason === reason;
      const visibleHold = visible ? { reason, since: same ? details.visibleHold!.since : at.toISOString() } : null;
      if (visible && !same) {
        await reportHold({
          reason: reason as HoldReason,
          since: visibleHold!.since,
          checksAgainAt: new Date(at.getTime() + retryInMs).toISOString(),
        });
      } else if (!visible && details.visibleHold) {
        await reportHold(null);
      }
      deps.metrics.held(host, reason);
      deps.logger.debug({ messageId: message.id, destination: host, reason, retryInMs }, 'delivery attempt held');
      // A slot is kept only by the hold that reserved it: any other hold gives it up.
      beat({ held: details.held + 1, holdStreak: details.holdStreak + 1, visibleHold, slotAt });
      throw ApplicationFailure.create({
        type: DELIVERY_HELD,
        message: `held: ${detail}`,
        nextRetryDelay: Math.max(1, Math.round(retryInMs)),
      });
    }

    /** The attempt's request and what it says, once destination control let it go. */
    async function attemptDelivery(): Promise<DeliveryReceipt> {
      // The request gets what is left of the attempt after the wait for a rate-limit slot (Temporal's
      // start-to-close runs from the activity's start), less the margin to report its outcome.
      const elapsedMs = now().getTime() - activityStartedAt;
      // And no further than the deadline (schedule-to-close), where Temporal ends the activity unreported.
      const deadlineLeftMs = info.scheduleToCloseTimeoutMs
        ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs - now().getTime()
        : Infinity;
      const attemptMs = Math.min(
        retryPlan.attemptTimeoutMs,
        (info.startToCloseTimeoutMs || Infinity) - elapsedMs,
        deadlineLeftMs,
      );
      const httpTimeoutMs = Math.max(1, attemptMs - Math.min(attemptMs * REPORTING_MARGIN, MAX_REPORTING_MARGIN_MS));
      let outcome: {
        classification: Classification;
        status?: number;
        excerpt?: string;
        retryAfterMs?: number;
        error?: string;
      };
      // A timer of our own, not AbortSignal.timeout(): inside AbortSignal.any() that signal can be garbage
      // collected before it fires, and the attempt then waits for the server however long it takes.
      const attemptTimeout = new AbortController();
      const timer = setTimeout(
        () => attemptTimeout.abort(new DOMException('the attempt timed out', 'TimeoutError')),
        httpTimeoutMs,
      );
      try {
        const response = await sendWithToken(message, url, {
          signal: AbortSignal.any([attemptTimeout.signal, Context.current().cancellationSignal]),
          excerptBytes: plan.responseExcerptBytes,
        });
        outcome = {
          classification: classifyStatus(response.status),
          status: response.status,
          excerpt: response.excerpt,
          retryAfterMs: parseRetryAfter(response.retryAfter, now()),
        };
      } catch (error) {
        const context = Context.current();
        if (context.cancellationSignal.aborted) {
          // Cancelled, not failed: undici reports only an aborted request, which would read as a network error.
          const reason: unknown = context.cancellationSignal.reason;
          const classification = classifyCancellation({
            workerShutdown: context.cancellationDetails?.workerShutdown,
            reason: reason instanceof Error ? reason.message : undefined,
          });
          if (classification.cause === 'worker_shutdown') {
            // Counted by the next attempt (Temporal hands it these details), so the cut uses no attempt.
            if (shutdownCutsUncounted) beat({ shutdownCuts: details.shutdownCuts + 1 });
            const retried = shutdownCutsUncounted || attempt < retryPlan.maximumAttempts;
            const attemptRecord = record(classification, {
              errorType: 'RetryableDeliveryError',
              error: 'the worker shut down during the attempt',
              nextDelayMs: retried ? WORKER_SHUTDOWN_RETRY_DELAY_MS : null,
            });
            await finish(message, attemptRecord);
            throw new RetryableDeliveryError(
              'worker shutdown: the attempt was cut, another worker retries it',
              attemptRecord,
              WORKER_SHUTDOWN_RETRY_DELAY_MS,
            );
          }
          const attemptRecord = record(classification, {
            errorType: 'CancelledFailure',
            error: 'the attempt was cancelled',
          });
          await finish(message, attemptRecord);
          // The SDK completes the activity as cancelled (or paused, reset) only for its own CancelledFailure.
          throw reason instanceof CancelledFailure ? reason : new CancelledFailure('the attempt was cancelled');
        }
        if (error instanceof TokenUnavailableError) {
          outcome = {
            classification: error.permanent
              ? { outcome: 'permanent', cause: 'token_rejected' }
              : { outcome: 'retryable', cause: 'token_unavailable' },
            error: error.message,
          };
        } else {
          outcome = { classification: classifyTransportError(error), error: describeError(error) };
        }
      } finally {
        clearTimeout(timer);
      }

      const { classification } = outcome;
      // The breaker counts what says the destination is down: 5xx, 429, timeouts, network errors. A 4xx
      // it answered (or a token the provider would not give) is the message's or sender's matter.
      breakerOutcome = {
        failure: classification.outcome === 'retryable' && !classification.cause.startsWith('token_'),
      };
      const base = { status: outcome.status, responseExcerpt: outcome.excerpt, error: outcome.error };
      if (classification.outcome === 'delivered') {
        const attemptRecord = record(classification, base);
        await finish(message, attemptRecord);
        return { attempt: attemptRecord };
      }
      if (classification.outcome === 'permanent') {
        const attemptRecord = record(classification, { ...base, errorType: 'PermanentDeliveryError' });
        await finish(message, attemptRecord);
        throw new PermanentDeliveryError(failureMessage(classification.cause, outcome), attemptRecord);
      }

      const draw = random();
      const delay = computeRetryDelay({
        attempt: counted,
        policy: retryPlan,
        retryAfterMs: outcome.retryAfterMs,
        maxRetryAfterMs: plan.maxRetryAfterMs,
        random: draw,
      });
      const deadlineAt = info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs;
      const attemptsLeft = counted < retryPlan.maximumAttempts;
      const retried = attemptsLeft && now().getTime() + delay.delayMs < deadlineAt;
      const attemptRecord = record(classification, {
        ...base,
        errorType: 'RetryableDeliveryError',
        nextDelayMs: retried ? delay.delayMs : null,
      });
      if (retried) {
        // What the next attempt needs to recompute its due time under a policy changed meanwhile.
        beat({
          holdStreak: 0,
          visibleHold: null,
          slotAt: undefined,
          lastFailure: {
            at: now().getTime(),
            attempt: counted,
            random: draw,
            ...(delay.basis === 'retry-after' ? { retryAfterMs: delay.delayMs } : {}),
          },
        });
      }
      await finish(message, attemptRecord, retried ? delay : undefined);
      const failure = failureMessage(classification.cause, outcome);
      // Spent by Herald's count, Temporal's retry policy (the plan's attempts plus the allowance) would
      // still retry: the failure says it is the last (the workflow reads it as max_attempts_exhausted).
      if (shutdownCutsUncounted && !attemptsLeft) throw RetryableDeliveryError.lastOfBudget(failure, attemptRecord);
      throw new RetryableDeliveryError(failure, attemptRecord, delay.delayMs);
    }
  }

  /** Appends the events a delivery carries; answers why they could not be written, or undefined. */
  async function appendEvents(events: NewMessageEvent[]): Promise<string | undefined> {
    if (!deps.events) return 'the worker has no event log';
    try {
      // A conflict is logged there and does not hold the delivery: retrying cannot fix it.
      await appendInOrder(deps.events, events, deps.logger);
      return undefined;
    } catch (error) {
      return `the event log is unavailable: ${describeError(error)}`;
    }
  }

  async function sendWithToken(message: Message, url: URL, limits: SendLimits) {
    const host = url.host;
    if (!deps.tokens.has(host)) return send(message, url, limits);
    const first = await send(message, url, limits, await deps.tokens.token(host));
    if (first.status !== 401) return first;
    // 401 from a destination we hold credentials for means the token expired or was revoked:
    // drop it, fetch a fresh one and try once more within the same attempt.
    deps.tokens.invalidate(host);
    return send(message, url, limits, await deps.tokens.token(host));
  }

  /**
   * The Standard Webhooks headers of one request: `webhook-id` is the same at every attempt (the message
   * id and `.delivery`, as callbacks are `.callback-N`), the timestamp is now, and the signature covers
   * the exact bytes sent. A body in the blob store is read once more for it (checked like the send).
   */
  async function signatureFor(message: Message, host: string, inlineBody: string | Buffer | undefined) {
    const id = `${message.id}.delivery`;
    const secrets = deps.signingSecrets ? secretsForHost(deps.signingSecrets, host) : undefined;
    if (!secrets || secrets.length === 0) return { 'webhook-id': id };
    const signer = createSigner(secrets, id, now());
    if (message.bodyRef !== undefined && deps.blobs) {
      for await (const chunk of verifiedRead(await deps.blobs.open(message.bodyRef.id), message.bodyRef)) {
        signer.update(chunk as Buffer);
      }
    } else if (inlineBody !== undefined) {
      signer.update(inlineBody);
    }
    return signer.headers();
  }

  async function send(message: Message, url: URL, limits: SendLimits, token?: string) {
    const signal = limits.signal;
    // The workflow refuses transport headers (see header-rules.ts); a message that started before that
    // rule still never sets them. Herald sets idempotency-key, the webhook-* headers and (with a token
    // provider) authorization itself; content-type is the message's contentType, else the sender's header.
    const headers: Record<string, string> = Object.fromEntries(
      Object.entries(lowercaseKeys(message.destination.headers ?? {})).filter(([name]) => !isTransportHeader(name)),
    );
    let inlineBody: string | Buffer | undefined;
    if (message.bodyRef !== undefined && deps.blobs) {
      headers['content-type'] = message.contentType ?? headers['content-type'] ?? message.bodyRef.contentType;
      headers['content-length'] = String(message.bodyRef.size);
    } else if (message.bodyBase64 !== undefined) {
      inlineBody = Buffer.from(message.bodyBase64, 'base64');
      headers['content-type'] = message.contentType ?? headers['content-type'] ?? 'application/octet-stream';
    } else if (message.body !== undefined) {
      inlineBody = JSON.stringify(message.body);
      headers['content-type'] = message.contentType ?? headers['content-type'] ?? 'application/json';
    }
    // The message id is the idempotency key, so a receiver can drop a delivery it already processed.
    headers['idempotency-key'] = message.id;
    // Signed before the send stream opens: a stored body is read once for the signature, then streamed.
    Object.assign(headers, await signatureFor(message, url.host, inlineBody));
    // Streamed from the store for each request (a retry after a 401 sends it again), checked as it goes.
    const body: string | Buffer | Readable | undefined =
      message.bodyRef !== undefined && deps.blobs
        ? verifiedRead(await deps.blobs.open(message.bodyRef.id), message.bodyRef)
        : inlineBody;
    if (token) headers.authorization = `Bearer ${token}`;
    const method = message.destination.method ?? 'POST';
    // Off (no tracer), nothing is added: the global propagator is a no-op until tracing registers it.
    const span = deps.tracer?.startSpan(method, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': method, 'server.address': url.hostname, 'url.scheme': url.protocol },
    });
    // A sender's own `traceparent` is sent as given (a trace of its own it continues downstream);
    // otherwise the request carries this attempt's trace context (W3C Trace Context).
    if (span && headers.traceparent === undefined) {
      propagation.inject(trace.setSpan(context.active(), span), headers);
    }
    try {
      const response = await request(url, { method, headers, body, signal, dispatcher: deps.dispatcher });
      span?.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 400) span?.setStatus({ code: SpanStatusCode.ERROR });
      const excerpt = await readExcerpt(response.body, limits.excerptBytes);
      const retryAfter = response.headers['retry-after'];
      return { status: response.statusCode, excerpt, retryAfter };
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      throw error;
    } finally {
      span?.end();
    }
  }

  /**
   * Logs the attempt as one line (the story of a message: every attempt with its destination, status,
   * outcome and the delay before the next) and tells the workflow. No body, header or response excerpt.
   */
  async function finish(message: Message, attemptRecord: AttemptRecord, nextDelay?: RetryDelay): Promise<void> {
    const traceId = trace.getSpan(context.active())?.spanContext().traceId;
    deps.metrics.attempt(destinationHost(message.destination.url), attemptRecord);
    deps.logger.info(
      {
        messageId: message.id,
        destination: destinationHost(message.destination.url),
        round: attemptRecord.round,
        attempt: attemptRecord.attempt,
        outcome: attemptRecord.outcome,
        status: attemptRecord.status ?? null,
        cause: attemptRecord.cause,
        durationMs: attemptRecord.durationMs,
        nextDelayMs: attemptRecord.nextDelayMs,
        // Whether the delay came from the backoff or the destination's Retry-After.
        ...(nextDelay && attemptRecord.nextDelayMs !== null ? { nextDelayBasis: nextDelay.basis } : {}),
        ...(traceId ? { traceId } : {}),
      },
      'delivery attempt',
    );
    // A delivered attempt reaches the workflow with the activity's result a moment later; only failed
    // attempts need the signal, as Temporal's retries would otherwise hide them until the last one.
    if (attemptRecord.outcome === 'delivered') return;
    try {
      await deps.reportAttempt(message.id, attemptRecord);
    } catch (error) {
      // The attempt also travels back with the activity's result or failure; only the live view lags.
      deps.logger.warn({ messageId: message.id, err: error }, 'could not report attempt to workflow');
    }
  }

  return { deliver };
}

function parseDestination(message: Message, policy: DestinationPolicy): URL | { cause: string; error: string } {
  const raw = message.destination.url;
  // The workflow checks these wire rules too; a message that started before them is refused here
  // rather than sent rewritten or retried until its attempts run out (undici refuses such headers).
  const [badUrl] = urlErrors(raw, '/destination/url');
  if (badUrl) return { cause: 'invalid_destination', error: `destination URL ${badUrl.message}` };
  for (const [name, value] of Object.entries(message.destination.headers ?? {})) {
    const problem = headerValueProblem(value);
    if (problem) return { cause: 'invalid_destination', error: `destination header ${name} ${problem}` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { cause: 'invalid_destination', error: `destination URL is not a valid URL: ${raw}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { cause: 'invalid_destination', error: `destination URL scheme ${url.protocol} is not http or https` };
  }
  if (url.username || url.password) {
    return { cause: 'invalid_destination', error: 'destination URL must not contain credentials' };
  }
  // IP literals never go through DNS lookup, so the connect-time guard would not see them.
  if (isLiteralHostBlocked(url, policy)) {
    return {
      cause: 'destination_blocked',
      error: `destination ${url.hostname} is a private, loopback or reserved address (see HERALD_DESTINATION_ALLOWLIST)`,
    };
  }
  return url;
}

/** Reads at most `limit` bytes of a response body, then drops the rest. */
export async function readExcerpt(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (limit > 0) {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) break;
    }
  }
  // Destroying an unread body aborts the request, and undici emits that as an 'error' event: without a
  // listener (limit 0 never iterates, which would add one) it would crash the worker.
  body.on('error', () => undefined);
  if (!body.destroyed) body.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}

function failureMessage(cause: string, outcome: { status?: number; error?: string }): string {
  if (outcome.status !== undefined) return `destination answered HTTP ${outcome.status}`;
  return `${cause.replace(/_/g, ' ')}: ${outcome.error ?? 'unknown error'}`;
}

function describeError(error: unknown): string {
  const err = error as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const parts = [err.code, err.message, err.cause?.code, err.cause?.message].filter(Boolean);
  return [...new Set(parts)].join(': ') || String(error);
}

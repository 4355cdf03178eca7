/**
 * deliverMessage: one message, one workflow (workflow id = message id).
 *
 *   accepted → delivering → (awaiting_reply → replied) | delivered
 *                        ↘ dead_lettered (parked) → redrive → delivering …
 *   any non-terminal state → cancelled; invalid input → rejected
 *
 * Deterministic code only: activities are seen as types, time and randomness come from the workflow API.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import type { DeliveryPlan } from '../retry/delivery-plan';
import { resolveDeliveryPlan } from '../retry/delivery-plan';
import {
  attemptRecordedSignal,
  cancelSignal,
  discardUpdate,
  redriveUpdate,
  replySignal,
  statusQuery,
  submitReplyUpdate,
  subscribeUpdate,
} from '../contract/definitions';
import { CALLBACK_STATES, outcomePayload, type CallbackInput } from '../contract/callback';
import type { NewMessageEvent } from '../contract/message-event';
import { deliverCallback } from './deliver-callback';
import {
  DISCARD_NOT_ALLOWED,
  NON_RETRYABLE_DELIVERY_ERRORS,
  REDRIVE_NOT_ALLOWED,
  REPLY_NOT_ACCEPTED,
  SUBSCRIBE_NOT_ALLOWED,
} from '../contract/error-types';
import { destinationHost, validateMessage, type FieldError, type Message } from '../contract/message';
import {
  isTerminal,
  type AttemptRecord,
  type DeadLetterReason,
  type MessageState,
  type MessageStatus,
  type ReplyInput,
  type ReplyRecord,
} from '../contract/message-status';
import { validateReply } from '../contract/reply';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';

const { getDeliverySettings, publishEvent } = proxyLocalActivities<HeraldActivities>({ startToCloseTimeout: '10s' });

/** The patch that added the event log and callbacks (see `patched`). */
const EVENTS_AND_CALLBACKS_PATCH = 'herald-events-and-callbacks-v1';
/** The patch that added the wire rules to input validation (header and URL rules, see validateMessage). */
const WIRE_RULES_PATCH = 'herald-wire-rules-v1';
/** Callback URLs one message may have. */
const MAX_SUBSCRIPTIONS = 20;

type SideEffect = { kind: 'event'; event: NewMessageEvent } | { kind: 'callback'; input: CallbackInput };

/**
 * Dead-letter writes retry without limit: giving up would lose the message, and the store being down
 * for a while is exactly when patience is right. The write is idempotent, so retries are safe.
 */
const { deadLetter, markDiscarded, markRedriven } = proxyActivities<HeraldActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

type RoundOutcome = { kind: 'done' } | { kind: 'dead_letter'; reason: DeadLetterReason };

/** Delivers one message under its retry policy, waits for its reply, and dead-letters it when that fails. */
export async function deliverMessage(input: Message): Promise<MessageStatus> {
  const { workflowId, runId, memo } = workflowInfo();
  // A run started to redrive a dead letter whose workflow had ended continues its rounds, so its dead
  // letter, events and callbacks never collide with the first run's (see api/dead-letter-operations.ts).
  const redriveOf = memo?.redriveOf as { round?: unknown } | undefined;
  const firstRound = (typeof redriveOf?.round === 'number' ? redriveOf.round : 0) + 1;
  const callbackPrefix = firstRound === 1 ? `${workflowId}.callback-` : `${workflowId}.callback-r${firstRound}-`;
  const now = () => new Date().toISOString();
  const createdAt = now();
  const status: MessageStatus = {
    id: workflowId,
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
    ignored: [],
    createdAt,
    updatedAt: createdAt,
  };
  // Set once validation passes; handlers registered before that (to catch early signals) read it.
  // eslint-disable-next-line prefer-const
  let message: Message | undefined;
  let pendingReply: ReplyRecord | null = null;
  let cancelRequested: { reason: string; at: string } | null = null;
  let redriveRequested = false;
  let discardRequested = false;
  let deliveryScope: CancellationScope | undefined;

  // Events and callbacks came with this patch: histories recorded before it replay without them.
  const publishing = patched(EVENTS_AND_CALLBACKS_PATCH);
  // Side effects run one at a time, in order, by runSideEffects; the workflow drains them before it ends.
  const sideEffects: SideEffect[] = [];
  let sideEffectRunning = false;
  let eventSeq = 0;
  let callbackCount = 0;
  const subscriptions: string[] = [];
  const queueCallback = (url: string, msg: Message) => {
    callbackCount += 1;
    sideEffects.push({
      kind: 'callback',
      input: {
        callbackId: `${callbackPrefix}${callbackCount}`,
        messageId: workflowId,
        url,
        sender: msg.sender ?? null,
        // A copy: the status goes on changing after this outcome.
        payload: JSON.parse(JSON.stringify(outcomePayload(status, msg, now()))) as unknown,
        // Only what a dead-lettered callback needs: the full message (body, credentials in headers) stays
        // with the message, not copied into every callback.
        message: {
          id: msg.id,
          destination: { url: msg.destination.url },
          ...(msg.metadata ? { metadata: msg.metadata } : {}),
        },
        round: 1,
      },
    });
  };
  const publish = (state: MessageState) => {
    if (!publishing) return;
    eventSeq += 1;
    sideEffects.push({
      kind: 'event',
      event: {
        messageId: workflowId,
        runId,
        seq: eventSeq,
        state,
        destination: status.destination,
        sender: message?.sender ?? null,
        at: status.updatedAt,
      },
    });
    if (message && CALLBACK_STATES.includes(state)) for (const url of subscriptions) queueCallback(url, message);
  };
  const runSideEffects = async () => {
    for (;;) {
      await condition(() => sideEffects.length > 0);
      const effect = sideEffects.shift()!;
      sideEffectRunning = true;
      try {
        if (effect.kind === 'event') {
          await publishEvent(effect.event);
        } else {
          await startChild(deliverCallback, {
            workflowId: effect.input.callbackId,
            args: [effect.input],
            // The callback outlives its message: a slow receiver must not hold the message open.
            parentClosePolicy: ParentClosePolicy.ABANDON,
            staticSummary: `Callback for ${workflowId} to ${destinationHost(effect.input.url)}`,
          });
        }
      } catch (error) {
        // A side effect must never wedge the message's own outcome: record the loss and go on.
        log.error('side effect failed', { kind: effect.kind, error: String(error) });
      } finally {
        sideEffectRunning = false;
      }
    }
  };
  if (publishing) void CancellationScope.nonCancellable(runSideEffects);
  /** Every way out of the workflow goes through here, so no event or callback is left behind. */
  const finish = async (): Promise<MessageStatus> => {
    if (publishing) {
      await CancellationScope.nonCancellable(() => condition(() => sideEffects.length === 0 && !sideEffectRunning));
    }
    return status;
  };

  const setState = (state: MessageState) => {
    status.state = state;
    status.updatedAt = now();
    upsertSearchAttributes([{ key: HERALD_STATE, value: state }]);
    setCurrentDetails(
      `**${state}** · ${status.attempts.length} attempt(s) · ${status.destination || 'no destination'}`,
    );
    publish(state);
  };
  const recordAttempt = (attempt: AttemptRecord) => {
    const known = status.attempts.some((a) => a.round === attempt.round && a.attempt === attempt.attempt);
    if (!known) status.attempts.push(attempt);
    const latest = status.attempts[status.attempts.length - 1];
    status.nextAttemptAt =
      latest?.nextDelayMs != null ? new Date(Date.parse(latest.finishedAt) + latest.nextDelayMs).toISOString() : null;
    status.updatedAt = now();
  };
  const replyRefusal = (): string | undefined => {
    if (!message) return 'the message has not been validated yet';
    if (!message.reply) return 'this message does not expect a reply';
    if (pendingReply || status.reply) return 'a reply was already received';
    if (cancelRequested) return 'the message is being cancelled';
    if (!['accepted', 'delivering', 'awaiting_reply'].includes(status.state)) {
      return `the message has ended (${status.state})`;
    }
    return undefined;
  };
  const takeReply = (reply: ReplyInput, via: ReplyRecord['via']) => {
    pendingReply = { ...reply, receivedAt: now(), via };
    // A reply proves delivery: stop any retrying that is still going on.
    deliveryScope?.cancel();
  };

  setHandler(statusQuery, () => status);
  setHandler(attemptRecordedSignal, recordAttempt);
  setHandler(replySignal, (reply) => {
    const refusal = replyRefusal() ?? validateReply(reply);
    if (refusal) {
      status.ignored.push({ kind: 'reply', reason: refusal, at: now() });
      return;
    }
    takeReply(reply, 'signal');
  });
  setHandler(
    submitReplyUpdate,
    async (reply) => {
      takeReply(reply, 'update');
      await condition(() => status.reply !== null || isTerminal(status.state));
      return status;
    },
    {
      validator: (reply) => {
        const refusal = replyRefusal() ?? validateReply(reply);
        if (refusal)
          throw ApplicationFailure.create({ type: REPLY_NOT_ACCEPTED, message: refusal, nonRetryable: true });
      },
    },
  );
  setHandler(cancelSignal, (request) => {
    if (isTerminal(status.state) || cancelRequested) {
      status.ignored.push({ kind: 'cancel', reason: `the message has ended (${status.state})`, at: now() });
      return;
    }
    cancelRequested = { reason: request?.reason ?? 'cancelled by request', at: now() };
    deliveryScope?.cancel();
  });
  setHandler(
    redriveUpdate,
    async (_request) => {
      redriveRequested = true;
      await condition(() => status.state !== 'dead_lettered');
      return status;
    },
    {
      validator: (_request) => {
        if (status.state !== 'dead_lettered' || redriveRequested) {
          throw ApplicationFailure.create({
            type: REDRIVE_NOT_ALLOWED,
            message: `only a dead-lettered message can be redriven; this one is ${status.state}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(
    discardUpdate,
    async (_request) => {
      discardRequested = true;
      await condition(() => status.deadLetter?.discardedAt !== undefined);
      return status;
    },
    {
      validator: (_request) => {
        if (status.state !== 'dead_lettered' || redriveRequested || discardRequested) {
          throw ApplicationFailure.create({
            type: DISCARD_NOT_ALLOWED,
            message: `only a parked dead-lettered message can be discarded; this one is ${status.state}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(
    subscribeUpdate,
    ({ url }) => {
      subscriptions.push(url);
      // A message that already has its outcome (parked as a dead letter) reports it at once.
      const notifiedNow = message !== undefined && CALLBACK_STATES.includes(status.state);
      if (notifiedNow && message) queueCallback(url, message);
      return { subscriptions: subscriptions.length, notifiedNow };
    },
    {
      validator: (request) => {
        const refuse = (reason: string) => {
          throw ApplicationFailure.create({ type: SUBSCRIBE_NOT_ALLOWED, message: reason, nonRetryable: true });
        };
        if (!publishing) refuse('this message was started by an earlier Herald version without callbacks');
        if (!message) refuse('the message has not been validated yet');
        if (status.state === 'rejected') refuse('a rejected message has no outcome to report');
        if (typeof request?.url !== 'string' || !/^https?:\/\/\S+$/i.test(request.url))
          refuse('url must be an http(s) URL');
        if (subscriptions.length >= MAX_SUBSCRIPTIONS) refuse(`at most ${MAX_SUBSCRIPTIONS} callbacks per message`);
      },
    },
  );

  const reject = (reason: string, errors: FieldError[]) => {
    status.rejection = { reason, errors };
    log.warn('message rejected', { reason, errors });
    setState('rejected');
    return finish();
  };
  const cancel = () => {
    status.cancellation = cancelRequested ?? { reason: 'workflow cancelled', at: now() };
    status.nextAttemptAt = null;
    setState('cancelled');
  };

  // The workflow validates its own input: it can be started by any client, the Temporal CLI included.
  let validated = validateMessage(input);
  // A run that started before the wire rules keeps the rules it started under, so its history replays.
  if (!validated.ok) {
    const before = validateMessage(input, { wireRules: false });
    if (before.ok && !patched(WIRE_RULES_PATCH)) validated = before;
  }
  if (!validated.ok) return reject('the message does not match the message schema', validated.errors);
  message = validated.value;
  if (message.id !== workflowId) {
    return reject('the message id must equal the workflow id', [{ field: '/id', message: `must be ${workflowId}` }]);
  }
  status.destination = destinationHost(message.destination.url);
  upsertSearchAttributes([{ key: HERALD_DESTINATION, value: status.destination }]);
  if (message.callback) subscriptions.push(message.callback.url);
  publish('accepted');

  const planned = resolveDeliveryPlan(message, await getDeliverySettings());
  if (!planned.ok) return reject('the message breaks a configured limit', planned.errors);
  const plan = planned.plan;

  try {
    for (let round = firstRound; ; round++) {
      const outcome = await runRound(message, round, plan);
      if (outcome.kind === 'done') break;
      const parked = await parkDeadLetter(message, round, outcome.reason, plan);
      if (!parked) break;
    }
  } catch (error) {
    // Cancelling the workflow itself (e.g. `temporal workflow cancel`) ends the message as cancelled,
    // unless it already had its outcome: a parked dead letter stays dead-lettered, and is discarded.
    if (!isCancellation(error)) throw error;
    if (status.state === 'dead_lettered' && status.deadLetter) {
      const discardedAt = now();
      await CancellationScope.nonCancellable(() => markDiscarded({ id: message!.id, at: discardedAt }));
      status.deadLetter = { ...status.deadLetter, discardedAt };
      return finish();
    }
    cancel();
    return finish();
  }
  await condition(allHandlersFinished);
  return finish();

  /** One delivery round: the delivery activity with its retries, then the reply wait if one is expected. */
  async function runRound(msg: Message, round: number, deliveryPlan: DeliveryPlan): Promise<RoundOutcome> {
    if (cancelRequested) {
      cancel();
      return { kind: 'done' };
    }
    setState('delivering');
    const delivered = await deliverWithRetries(msg, round, deliveryPlan);
    if (delivered.kind === 'dead_letter') return delivered;
    if (cancelRequested && !pendingReply) {
      cancel();
      return { kind: 'done' };
    }
    if (deliveryPlan.replyTimeoutMs === null) {
      setState('delivered');
      return { kind: 'done' };
    }
    if (!pendingReply) {
      setState('awaiting_reply');
      await condition(() => pendingReply !== null || cancelRequested !== null, deliveryPlan.replyTimeoutMs);
    }
    if (pendingReply) {
      status.reply = pendingReply;
      setState('replied');
      return { kind: 'done' };
    }
    if (cancelRequested) {
      cancel();
      return { kind: 'done' };
    }
    status.lastError = { type: 'ReplyTimeoutError', message: `no reply within ${deliveryPlan.replyTimeoutMs}ms` };
    return { kind: 'dead_letter', reason: 'reply_timeout' };
  }

  /** Runs the delivery activity; Temporal retries it per the plan. Ends delivered, cancelled or dead-letter-bound. */
  async function deliverWithRetries(
    msg: Message,
    round: number,
    deliveryPlan: DeliveryPlan,
  ): Promise<{ kind: 'delivered' } | { kind: 'dead_letter'; reason: DeadLetterReason }> {
    const { deliver } = proxyActivities<HeraldActivities>({
      startToCloseTimeout: deliveryPlan.retry.attemptTimeoutMs,
      scheduleToCloseTimeout: deliveryPlan.retry.deadlineMs,
      retry: {
        initialInterval: deliveryPlan.retry.initialIntervalMs,
        backoffCoefficient: deliveryPlan.retry.backoffCoefficient,
        maximumInterval: deliveryPlan.retry.maximumIntervalMs,
        maximumAttempts: deliveryPlan.retry.maximumAttempts,
        nonRetryableErrorTypes: [...NON_RETRYABLE_DELIVERY_ERRORS],
      },
      // Don't wait for an HTTP request in flight to notice the cancel: it cannot be unsent anyway.
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    });
    try {
      const receipt = await CancellationScope.cancellable(async () => {
        deliveryScope = CancellationScope.current();
        return deliver({ message: msg, round, plan: deliveryPlan });
      });
      recordAttempt(receipt.attempt);
      status.nextAttemptAt = null;
      return { kind: 'delivered' };
    } catch (error) {
      status.nextAttemptAt = null;
      // A reply proves delivery, whatever the last attempt says (they can land in the same activation).
      if (pendingReply) return { kind: 'delivered' };
      // Cancelled by us because the sender cancelled.
      if (isCancellation(error) && cancelRequested) return { kind: 'delivered' };
      if (!(error instanceof ActivityFailure)) throw error;
      const { cause } = error;
      const last = cause instanceof TimeoutFailure && cause.cause ? cause.cause : cause;
      if (last instanceof ApplicationFailure) {
        const attempt = last.details?.[0] as AttemptRecord | undefined;
        if (attempt) recordAttempt(attempt);
        status.lastError = { type: last.type ?? 'Error', message: last.message };
      } else {
        status.lastError = { type: cause?.name ?? 'ActivityFailure', message: cause?.message ?? error.message };
      }
      return { kind: 'dead_letter', reason: deadLetterReason(error) };
    } finally {
      deliveryScope = undefined;
    }
  }

  /** Writes the dead letter, then parks until a redrive (true) or the end of retention (false). */
  async function parkDeadLetter(
    msg: Message,
    round: number,
    reason: DeadLetterReason,
    deliveryPlan: DeliveryPlan,
  ): Promise<boolean> {
    const at = now();
    await deadLetter({
      id: msg.id,
      message: msg,
      reason,
      lastError: status.lastError,
      attempts: status.attempts,
      round,
      destination: status.destination,
      messageCreatedAt: status.createdAt,
      deadLetteredAt: at,
    });
    status.deadLetter = {
      reason,
      at,
      round,
      retainedUntil: new Date(Date.parse(at) + deliveryPlan.deadLetterRetentionMs).toISOString(),
    };
    setState('dead_lettered');
    const decided = await condition(() => redriveRequested || discardRequested, deliveryPlan.deadLetterRetentionMs);
    if (!decided) return false;
    if (discardRequested) {
      const discardedAt = now();
      await markDiscarded({ id: msg.id, at: discardedAt });
      status.deadLetter = { ...status.deadLetter, discardedAt };
      status.updatedAt = discardedAt;
      return false;
    }
    await markRedriven({ id: msg.id, round, at: now() });
    redriveRequested = false;
    pendingReply = null;
    status.redrives += 1;
    status.deadLetter = null;
    return true;
  }
}

/** Why a delivery round ended in the dead-letter store, from Temporal's retry state. */
function deadLetterReason(failure: ActivityFailure): DeadLetterReason {
  switch (failure.retryState) {
    case 'MAXIMUM_ATTEMPTS_REACHED':
      return 'max_attempts_exhausted';
    case 'TIMEOUT':
      return 'deadline_exceeded';
    default:
      return 'permanent_error';
  }
}

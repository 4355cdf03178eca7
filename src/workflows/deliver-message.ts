/**
 * deliverMessage: one message, one workflow (workflow id = message id).
 *
 *   accepted → delivering → (awaiting_reply → replied) | delivered
 *                        ↘ dead_lettered (parked) → redrive → delivering … | discard → discarded
 *   any non-terminal state → cancelled; invalid input → rejected
 *   (terminated and timed_out are the API's reading of a closed execution, never set here)
 *
 * The rules live in MessageRun (message-run.ts); this file waits, calls activities and wires handlers.
 * Deterministic code only: activities are seen as types, time and randomness come from the workflow API.
 * Keep the awaits and async functions below as they are: the microtask hops between a resolution and
 * the next command decide the order of commands within an activation, and running messages replay it.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HeraldActivities } from '../activities';
import {
  attemptRecordedSignal,
  cancelSignal,
  deliveryHeldSignal,
  discardUpdate,
  predecessorReleasedSignal,
  redriveUpdate,
  replySignal,
  statusQuery,
  submitReplyUpdate,
  subscribeUpdate,
  successorWaitingSignal,
} from '../contract/definitions';
import {
  DISCARD_NOT_ALLOWED,
  REDRIVE_NOT_ALLOWED,
  REPLY_NOT_ACCEPTED,
  SUBSCRIBE_NOT_ALLOWED,
} from '../contract/error-types';
import type { FieldError, Message } from '../contract/message';
import type { DeadLetterReason, MessageStatus, ReplyInput } from '../contract/message-status';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';
import {
  isDeliverySettings,
  resolveDeliveryPlan,
  type DeliveryPlan,
  type DeliverySettings,
} from '../retry/delivery-plan';
import { deadLetterReason, lastAttemptFailure } from './activity-failure';
import { DEAD_LETTER_ACTIVITY_OPTIONS, deliveryActivityOptions, LOCAL_ACTIVITY_OPTIONS } from './activity-options';
import type { CloseOutSinks } from './close-out';
import { currentDetails, firstRoundOf, isContinuedRun, MessageRun, type ContinuedRun } from './message-run';
import { isOrderingStart, type OrderingStart } from './ordering-turn';
import { sideEffectsDrained, startSideEffects } from './side-effect-runner';

/** The patch that added the event log and callbacks (see `patched`). */
const EVENTS_AND_CALLBACKS_PATCH = 'herald-events-and-callbacks-v1';
/** The patch that added the wire rules to input validation (header and URL rules, see validateMessage). */
const WIRE_RULES_PATCH = 'herald-wire-rules-v1';
/** The patch that publishes events only after their workflow task commits, and gives a discard its own state. */
const COMMITTED_EVENTS_PATCH = 'herald-committed-events-v2';
/** What a start carries besides the message. */
export interface MessageStartOptions {
  /** The API's delivery settings: the plan is made from them, with no round trip before the delivery. */
  settings?: DeliverySettings;
  /**
   * The message's place on its ordering key, claimed by the API (absent without `orderingKey`). Not in
   * the message: the same message sent again is the same content whatever place it was given.
   */
  ordering?: OrderingStart;
  /** Set by a run that continued as new (see continueRun): where the message stands, to go on from. */
  continued?: ContinuedRun;
}

/**
 * Rounds one run holds before it continues as new: each redriven round adds its delivery, dead letter
 * and update events (and an inline body in two activity inputs), so a message redriven without end
 * would grow one history without bound. After this many, the next round starts a new run of the same
 * workflow id, handed the status, attempts and callbacks whole (MessageRun.continuation).
 */
export const ROUNDS_PER_RUN = 10;
/** The patch that added continue-as-new; asked only on that rare path, so other runs carry no marker. */
const CONTINUE_AS_NEW_PATCH = 'herald-continue-as-new-v1';

/**
 * How long a message waiting for its predecessor trusts its registration before it registers again,
 * doubling to the cap. A predecessor that ends without releasing it (terminated, timed out in Temporal)
 * can no longer be signalled: the next registration fails and the message goes. A cheap timer while
 * the key is blocked, and none on the happy path.
 */
const PREDECESSOR_RECHECK_MS = 60_000;
const PREDECESSOR_RECHECK_MAX_MS = 60 * 60_000;

/**
 * A predecessor Temporal does not know may still be starting: another API host claimed its place and
 * its start has not reached Temporal yet. Within this time of its claim the message looks again every
 * PREDECESSOR_START_POLL_MS; after it, a predecessor with no run never started (its sender was refused
 * and did not resend) and the message goes. Histories recorded before this replay without it (the patch).
 */
const PREDECESSOR_START_GRACE_MS = 60_000;
const PREDECESSOR_START_POLL_MS = 500;
/** Registrations tried again with a predecessor that runs but refused the signal, before the usual recheck. */
const PREDECESSOR_REREGISTER_LIMIT = 5;
const PREDECESSOR_START_PATCH = 'herald-ordering-predecessor-start-v1';

const { getDeliverySettings } = proxyLocalActivities<HeraldActivities>(LOCAL_ACTIVITY_OPTIONS);
/** A few tries, then predecessorMayStart counts the predecessor as not started (the grace still ends). */
const { predecessorState } = proxyLocalActivities<HeraldActivities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumAttempts: 3 },
});
const { deadLetter, markDiscarded, markRedriven } = proxyActivities<HeraldActivities>(DEAD_LETTER_ACTIVITY_OPTIONS);
const { closeOut } = proxySinks<CloseOutSinks>();

type RoundOutcome = { kind: 'done' } | { kind: 'dead_letter'; reason: DeadLetterReason };
type DeliveryOutcome = { kind: 'delivered' } | { kind: 'dead_letter'; reason: DeadLetterReason };
const DONE: RoundOutcome = { kind: 'done' };

/** Throws an update validator's refusal as the named failure type callers check. */
function refuse(type: string, refusal: string | undefined): void {
  if (refusal !== undefined) throw ApplicationFailure.create({ type, message: refusal, nonRetryable: true });
}

/** submitReply: takes the reply (its validator accepted it), answers once it is the outcome or the message ended. */
async function submitReply(run: MessageRun, reply: ReplyInput): Promise<MessageStatus> {
  run.takeReply(reply, 'update');
  await condition(() => run.replySettled);
  return run.status;
}

/** redrive: answers once the parked message is delivering again. */
async function redrive(run: MessageRun): Promise<MessageStatus> {
  run.requestRedrive();
  await condition(() => run.redriveStarted);
  return run.status;
}

/** discard: answers once the dead letter is marked discarded. */
async function discard(run: MessageRun): Promise<MessageStatus> {
  run.requestDiscard();
  await condition(() => run.discarded);
  return run.status;
}

/** Sends `predecessorReleased` to each successor; a successor that has ended (cancelled) needs none. */
function releaseSuccessors(run: MessageRun, successors: string[]): void {
  for (const successor of successors) {
    getExternalWorkflowHandle(successor)
      .signal(predecessorReleasedSignal, { id: run.status.id })
      .catch((error: unknown) => log.info('successor not released: it cannot be signalled', signalFailure(error)))
      .finally(() => run.orderingReleaseEnded());
  }
}

/**
 * Registers with the predecessor on the ordering key and waits for its release (or a cancel). When the
 * signal fails, the predecessor has closed, or has not started yet (see predecessorMayStart): a closed
 * one, or one that never started, leaves nothing ahead, so the message goes.
 */
async function waitForPredecessor(run: MessageRun, ordering: OrderingStart & { predecessor: string }): Promise<void> {
  const { predecessor } = ordering;
  // Its own predecessor (a resend whose pruned place was claimed again): nothing is ahead of it.
  if (predecessor === run.status.id) return run.predecessorGone();
  let reRegistrations = 0;
  for (let recheckMs = PREDECESSOR_RECHECK_MS; ; recheckMs = Math.min(recheckMs * 2, PREDECESSOR_RECHECK_MAX_MS)) {
    try {
      await getExternalWorkflowHandle(predecessor).signal(successorWaitingSignal, { id: run.status.id });
    } catch (error) {
      if (isCancellation(error)) throw error;
      const next = await predecessorMayStart(run, ordering);
      if (next === 'cancelled') return;
      if (next === 'go') {
        log.info('predecessor cannot be signalled: delivering without waiting', {
          predecessor,
          ...signalFailure(error),
        });
        run.predecessorGone();
        return;
      }
      // It runs now: register again after a pause, a bounded number of times (a run that keeps refusing
      // signals is then trusted to release this message, and checked at the usual recheck).
      if (reRegistrations < PREDECESSOR_REREGISTER_LIMIT) {
        reRegistrations += 1;
        if (await condition(() => run.cancelRequested, PREDECESSOR_START_POLL_MS)) return;
        recheckMs = PREDECESSOR_RECHECK_MS / 2; // the loop's step doubles it back to the first recheck
        continue;
      }
    }
    if (await condition(() => !run.waitingForPredecessor || run.cancelRequested, recheckMs)) return;
  }
}

/**
 * After a failed signal: asks Temporal where the predecessor stands (a local activity, only on this
 * path) and, while it has no run and claimed its place less than PREDECESSOR_START_GRACE_MS ago, asks
 * again. `register` once it runs, `go` once it has closed or will not start, `cancelled` on a cancel.
 * A describe that keeps failing counts as no run: the grace still ends, so the message cannot hang on it.
 */
async function predecessorMayStart(
  run: MessageRun,
  ordering: OrderingStart & { predecessor: string },
): Promise<'register' | 'go' | 'cancelled'> {
  if (!patched(PREDECESSOR_START_PATCH)) return 'go';
  const claimedAt = ordering.predecessorClaimedAt ? Date.parse(ordering.predecessorClaimedAt) : Number.NaN;
  for (;;) {
    const state = await predecessorState(ordering.predecessor).catch((error: unknown) => {
      if (isCancellation(error)) throw error;
      log.warn('could not describe the predecessor; counting it as not started', signalFailure(error));
      return 'absent' as const;
    });
    if (state === 'running') return 'register';
    // A place without a claim time was pruned long ago: its run cannot be on the way.
    if (state === 'closed' || !(Date.now() - claimedAt < PREDECESSOR_START_GRACE_MS)) return 'go';
    if (await condition(() => run.cancelRequested, PREDECESSOR_START_POLL_MS)) return 'cancelled';
  }
}

/** What a failed signal says, for the log line. */
function signalFailure(error: unknown): { type?: string; error: string } {
  const type = error instanceof ApplicationFailure ? error.type : undefined;
  return { ...(type ? { type } : {}), error: error instanceof Error ? error.message : String(error) };
}

/**
 * Continues the message in a new run, at `round`: once every handler has answered and every event and
 * callback queued has gone (the next run starts with an empty queue), with the same memo (sender,
 * content hash) and search attributes. Messages with an ordering key do not: their successors wait on
 * this run's signals.
 */
async function continueRun(
  run: MessageRun,
  message: Message,
  round: number,
  settings: DeliverySettings,
): Promise<never> {
  // The redrive's update answers once the message delivers again: it does, here, and the next run
  // goes on from `delivering` (runRound does not enter it twice).
  run.setState('delivering');
  if (!allHandlersFinished()) await condition(allHandlersFinished);
  if (run.effects.enabled && !run.effects.idle) await sideEffectsDrained(run.effects);
  log.info('message continues as new', { messageId: message.id, round, attempts: run.status.attempts.length });
  const { memo, typedSearchAttributes } = workflowInfo();
  const next = makeContinueAsNewFunc<typeof heraldMessage>({ memo, typedSearchAttributes });
  return next(message, { settings, continued: run.continuation(round) });
}

/** Every way out of the workflow goes through here, so no event or callback is left behind. */
async function finish(run: MessageRun): Promise<MessageStatus> {
  // A message with an ordering key hands its turn on at any end, and waits for the signals to be sent
  // (a closed run sends none). Without a key there is nothing to send and nothing to wait for.
  run.runEnding();
  if (run.releasesInFlight > 0) await condition(() => run.releasesInFlight === 0);
  // An idle queue has nothing to wait for: no scope, no condition (each costs the worker a stack trace).
  if (run.effects.enabled && !run.effects.idle) await sideEffectsDrained(run.effects);
  const { status } = run;
  if (run.effects.lean) {
    closeOut.runEnding({ state: status.state, at: status.updatedAt, sender: run.message?.sender ?? null });
  }
  // One line per ended message (a sink call: no command, and not repeated when the history replays).
  log.info('message ended', {
    messageId: status.id,
    state: status.state,
    destination: status.destination,
    attempts: status.attempts.length,
    redrives: status.redrives,
  });
  return status;
}

/** Runs the delivery activity; Temporal retries it per the plan. Ends delivered, cancelled or dead-letter-bound. */
async function deliverWithRetries(
  run: MessageRun,
  message: Message,
  round: number,
  plan: DeliveryPlan,
): Promise<DeliveryOutcome> {
  const { deliver } = proxyActivities<HeraldActivities>({
    ...deliveryActivityOptions(plan.retry, { heldUncounted: run.effects.lean }),
    // Don't wait for an HTTP request in flight to notice the cancel: it cannot be unsent anyway.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
  // Lean runs: the events so far ride with the delivery, which writes them once its task has committed.
  let handedOff = false;
  let succeeded = false;
  try {
    const receipt = await CancellationScope.cancellable(async () => {
      run.deliveryStarted(CancellationScope.current());
      if (!run.effects.lean) return deliver({ message, round, plan, shutdownCutsUncounted: true });
      handedOff = true;
      return deliver({ message, round, plan, shutdownCutsUncounted: true, events: run.effects.handOffEvents() });
    });
    succeeded = true;
    run.deliverySucceeded(receipt.attempt);
    return { kind: 'delivered' };
  } catch (error) {
    if (run.deliveryInterrupted(isCancellation(error))) return { kind: 'delivered' };
    if (!(error instanceof ActivityFailure)) throw error;
    const { attempt, lastError } = lastAttemptFailure(error);
    run.deliveryFailed(attempt, lastError);
    return { kind: 'dead_letter', reason: deadLetterReason(error) };
  } finally {
    if (handedOff) run.effects.handOffDone(succeeded);
    run.deliveryEnded();
  }
}

/** One delivery round: the delivery activity with its retries, then the reply wait if one is expected. */
async function runRound(run: MessageRun, message: Message, round: number, plan: DeliveryPlan): Promise<RoundOutcome> {
  if (run.cancelRequested) {
    run.cancel();
    return DONE;
  }
  // A continued run starts in `delivering`: the run before entered it (see continueRun).
  if (run.status.state !== 'delivering') run.setState('delivering');
  const delivered = await deliverWithRetries(run, message, round, plan);
  if (delivered.kind === 'dead_letter') return delivered;
  if (run.cancelRequested && !run.hasReply) {
    run.cancel();
    return DONE;
  }
  if (plan.replyTimeoutMs === null) {
    run.setState('delivered');
    return DONE;
  }
  if (!run.hasReply) {
    run.setState('awaiting_reply');
    await condition(() => run.hasReply || run.cancelRequested, plan.replyTimeoutMs);
  }
  if (run.hasReply) {
    run.replied();
    return DONE;
  }
  if (run.cancelRequested) {
    run.cancel();
    return DONE;
  }
  run.replyTimedOut(plan.replyTimeoutMs);
  return { kind: 'dead_letter', reason: 'reply_timeout' };
}

/** Writes the dead letter, then parks until a redrive (true) or a discard or the end of retention (false). */
async function parkDeadLetter(
  run: MessageRun,
  message: Message,
  round: number,
  reason: DeadLetterReason,
  plan: DeliveryPlan,
): Promise<boolean> {
  const { status } = run;
  const at = run.now();
  await deadLetter({
    id: message.id,
    message,
    reason,
    lastError: status.lastError,
    attempts: status.attempts,
    round,
    destination: status.destination,
    messageCreatedAt: status.createdAt,
    deadLetteredAt: at,
  });
  run.parked(reason, at, round, plan.deadLetterRetentionMs);
  const decided = await condition(() => run.decided, plan.deadLetterRetentionMs);
  if (!decided) return false;
  if (run.discardChosen) {
    const discardedAt = run.now();
    await markDiscarded({ id: message.id, at: discardedAt });
    run.discard(discardedAt);
    return false;
  }
  await markRedriven({ id: message.id, round, at: run.now() });
  run.redriven();
  return true;
}

/**
 * The message workflow Herald starts (`heraldMessage`): deliverMessage as it is now, with the success
 * path costing what a bare one-activity workflow does plus two search-attribute upserts. Its settings
 * come with the start (no local activity before the delivery), the events before a delivery are
 * written by the delivery activity, the run's last event is recorded from its committed close, and no
 * upsert repeats a value the start set. A type of its own, with no `patched` gates: each patch would
 * cost every message a marker and an upsert of its own.
 */
export async function heraldMessage(input: Message, start?: MessageStartOptions): Promise<MessageStatus> {
  return runMessage(input, start, { lean: true, publishing: true, committed: true });
}

/**
 * The message workflow of earlier Herald versions: their runs replay here, behind the `patched` gates
 * that each change added, and a start from the Temporal CLI that names it runs the newest of them.
 */
export async function deliverMessage(input: Message): Promise<MessageStatus> {
  // Events and callbacks came with this patch: histories recorded before it replay without them.
  const publishing = patched(EVENTS_AND_CALLBACKS_PATCH);
  // Events after commit and the `discarded` state came with this one: older runs keep the local activity.
  const committed = publishing && patched(COMMITTED_EVENTS_PATCH);
  return runMessage(input, undefined, { lean: false, publishing, committed });
}

/** Which generation of the workflow a run is (see heraldMessage and deliverMessage). */
interface RunGeneration {
  lean: boolean;
  publishing: boolean;
  committed: boolean;
}

/** Delivers one message under its retry policy, waits for its reply, and dead-letters it when that fails. */
async function runMessage(
  input: Message,
  start: MessageStartOptions | undefined,
  { lean, publishing, committed }: RunGeneration,
): Promise<MessageStatus> {
  const { workflowId, runId, memo, typedSearchAttributes } = workflowInfo();
  // Only lean runs take a place: older runs' histories have no ordering (and replay without it).
  const ordering = lean && isOrderingStart(start?.ordering) ? start.ordering : undefined;
  const continued = lean && isContinuedRun(start?.continued, workflowId) ? start.continued : undefined;
  const run: MessageRun = new MessageRun({
    id: workflowId,
    runId,
    firstRound: firstRoundOf(memo),
    continued,
    publishing,
    lean,
    discardedState: committed,
    onStateChange: (status) => {
      upsertSearchAttributes([{ key: HERALD_STATE, value: status.state }]);
      setCurrentDetails(currentDetails(status));
    },
    ordering,
    releaseSuccessors: (successors) => releaseSuccessors(run, successors),
  });
  startSideEffects(run.effects, committed ? 'committed' : 'local');

  // Handlers come first, so signals and updates sent with the start are not lost; MessageRun holds the rules.
  setHandler(statusQuery, () => run.status);
  setHandler(attemptRecordedSignal, (attempt) => run.recordAttempt(attempt));
  setHandler(deliveryHeldSignal, (hold) => run.deliveryHeld(hold));
  setHandler(replySignal, (reply) => run.replyBySignal(reply));
  setHandler(submitReplyUpdate, (reply) => submitReply(run, reply), {
    validator: (reply) => refuse(REPLY_NOT_ACCEPTED, run.replyRefusal(reply)),
  });
  setHandler(cancelSignal, (request) => run.requestCancel(request?.reason));
  setHandler(redriveUpdate, (_request) => redrive(run), {
    validator: (_request) => refuse(REDRIVE_NOT_ALLOWED, run.redriveRefusal()),
  });
  setHandler(discardUpdate, (_request) => discard(run), {
    validator: (_request) => refuse(DISCARD_NOT_ALLOWED, run.discardRefusal()),
  });
  setHandler(subscribeUpdate, ({ url }) => run.subscribe(url), {
    validator: (request) => refuse(SUBSCRIBE_NOT_ALLOWED, run.subscribeRefusal(request)),
  });
  // Ordered delivery: signals, not updates (an update cannot be sent from a workflow). Malformed input
  // is dropped: a signal cannot be refused, and throwing here would fail the workflow task.
  setHandler(successorWaitingSignal, (request) => {
    if (typeof request?.id === 'string') run.successorWaiting(request.id);
  });
  setHandler(predecessorReleasedSignal, (request) => {
    if (typeof request?.id === 'string') run.predecessorReleased(request.id);
  });

  const reject = (reason: string, errors: FieldError[]) => {
    log.warn('message rejected', { reason, errors });
    run.reject(reason, errors);
    return finish(run);
  };

  // Validate: the workflow checks its own input, since any client (the Temporal CLI too) can start it.
  const validated = run.validate(input, () => lean || patched(WIRE_RULES_PATCH));
  if (!validated.ok) return reject(validated.reason, validated.errors);
  const { message } = validated;
  // The API sets the destination at the start; a start from elsewhere (the Temporal CLI) may not have.
  if (!lean || typedSearchAttributes.get(HERALD_DESTINATION) !== run.status.destination) {
    upsertSearchAttributes([{ key: HERALD_DESTINATION, value: run.status.destination }]);
  }

  // Plan: config defaults fill what the sender left out, limits bound what it asked for. The settings
  // come with the start from the API; a start without them asks the worker (a local activity).
  const settings = lean && isDeliverySettings(start?.settings) ? start.settings : await getDeliverySettings();
  const planned = resolveDeliveryPlan(message, settings);
  if (!planned.ok) return reject('the message breaks a configured limit', planned.errors);
  const { plan } = planned;

  // Rounds: deliver (and wait for the reply); a failed round parks as a dead letter until an operator decides.
  // A message with an ordering key first waits for its predecessor's release.
  try {
    if (ordering?.predecessor && run.waitingForPredecessor) {
      await waitForPredecessor(run, { ...ordering, predecessor: ordering.predecessor });
    }
    for (let round = run.firstRound; ; round++) {
      const outcome = await runRound(run, message, round, plan);
      if (outcome.kind === 'done') break;
      const parked = await parkDeadLetter(run, message, round, outcome.reason, plan);
      if (!parked) break;
      if (lean && !ordering && round - run.firstRound + 1 >= ROUNDS_PER_RUN && patched(CONTINUE_AS_NEW_PATCH)) {
        return await continueRun(run, message, round + 1, settings);
      }
    }
  } catch (error) {
    // Cancelling the workflow itself (e.g. `temporal workflow cancel`) ends the message as cancelled,
    // unless it already had its outcome: a parked dead letter is discarded instead.
    if (!isCancellation(error)) throw error;
    if (run.isParked) {
      const discardedAt = run.now();
      await CancellationScope.nonCancellable(() => markDiscarded({ id: message.id, at: discardedAt }));
      run.discardByCancellation(discardedAt);
      return finish(run);
    }
    run.cancel();
    return finish(run);
  }

  // Finish: let running update handlers answer, then drain events and callbacks.
  if (!allHandlersFinished()) await condition(allHandlersFinished);
  return finish(run);
}

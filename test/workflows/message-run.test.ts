/**
 * MessageRun as plain code: the message's state, its transition table and every refusal rule, with a
 * fake clock and no Temporal. (The workflow that drives it runs in stub-activities.test.ts.)
 */
import type { Message } from '../../src/contract/message';

// The rules are pure: loading the Temporal workflow API from them fails this file.
jest.mock('@temporalio/workflow', () => {
  throw new Error('this module must not load @temporalio/workflow');
});
import {
  isTerminal,
  MESSAGE_STATES,
  type AttemptRecord,
  type MessageState,
  type MessageStatus,
} from '../../src/contract/message-status';
import {
  currentDetails,
  firstRoundOf,
  IllegalTransitionError,
  MAX_SUBSCRIPTIONS,
  MessageRun,
  STATE_TRANSITIONS,
  type MessageRunOptions,
} from '../../src/workflows/message-run';
import type { SideEffect } from '../../src/workflows/side-effects';

const ID = 'msg-1';

/** A clock that moves one second per reading, from a fixed start. */
function fakeClock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let ms = start - 1000;
  return () => {
    ms += 1000;
    return new Date(ms).toISOString();
  };
}

function newRun(options: Partial<MessageRunOptions> = {}) {
  const changes: MessageState[] = [];
  const run = new MessageRun({
    id: ID,
    runId: 'run-1',
    publishing: true,
    now: fakeClock(),
    onStateChange: (status) => changes.push(status.state),
    ...options,
  });
  return { run, changes };
}

function message(extra: Partial<Message> = {}): Message {
  return { id: ID, destination: { url: 'https://api.example.com/hook' }, body: { n: 1 }, ...extra };
}

/** A run whose input passed validation. */
function validRun(extra: Partial<Message> = {}, options: Partial<MessageRunOptions> = {}) {
  const made = newRun(options);
  const validated = made.run.validate(message(extra));
  if (!validated.ok) throw new Error(`invalid test message: ${validated.reason}`);
  return made;
}

function drain(run: MessageRun): SideEffect[] {
  const taken: SideEffect[] = [];
  for (let effect = run.effects.take(); effect; effect = run.effects.take()) {
    taken.push(effect);
    run.effects.done();
  }
  return taken;
}

function attempt(n: number, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    round: 1,
    attempt: n,
    outcome: 'retryable',
    durationMs: 5,
    nextDelayMs: 2000,
    startedAt: '2030-01-01T00:00:10.000Z',
    finishedAt: '2030-01-01T00:00:10.005Z',
    ...extra,
  };
}

function stopper() {
  const stop = { cancelled: 0, cancel: () => (stop.cancelled += 1) };
  return stop;
}

/** Walks a validated run into the dead-letter store. */
function parkedRun(extra: Partial<Message> = {}, options: Partial<MessageRunOptions> = {}) {
  const made = validRun(extra, options);
  made.run.setState('delivering');
  made.run.parked('permanent_error', '2030-01-02T00:00:00.000Z', 1, 60_000);
  return made;
}

describe('status', () => {
  test('a new run is accepted, with every field of the status query in place', () => {
    const { run } = newRun();
    expect(run.status).toEqual<MessageStatus>({
      id: ID,
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
      ordering: null,
      ignored: [],
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
    });
    // The query's JSON keeps its field order.
    expect(Object.keys(run.status)).toEqual([
      'id',
      'state',
      'destination',
      'attempts',
      'lastError',
      'nextAttemptAt',
      'reply',
      'deadLetter',
      'rejection',
      'cancellation',
      'redrives',
      'ordering',
      'ignored',
      'createdAt',
      'updatedAt',
    ]);
  });

  test('current details show state, attempts and destination', () => {
    const { run } = validRun();
    expect(currentDetails(run.status)).toBe('**accepted** · 0 attempt(s) · api.example.com');
    expect(currentDetails(newRun().run.status)).toBe('**accepted** · 0 attempt(s) · no destination');
  });

  test('a restarted run continues the rounds of the run it redrives', () => {
    expect(firstRoundOf(undefined)).toBe(1);
    expect(firstRoundOf({})).toBe(1);
    expect(firstRoundOf({ redriveOf: { round: 2 } })).toBe(3);
    expect(firstRoundOf({ redriveOf: { round: '2' } })).toBe(1);
  });
});

describe('validation', () => {
  test('input that breaks the schema is refused before the message is known', () => {
    const { run } = newRun();
    const validated = run.validate({ id: ID, destination: {} });
    expect(validated).toMatchObject({ ok: false, reason: 'the message does not match the message schema' });
    expect(run.message).toBeUndefined();
    expect(run.subscribeRefusal({ url: 'https://x.example/cb' })).toBe('the message has not been validated yet');
    expect(run.effects.hasWaiting).toBe(false);
  });

  test('an id other than the workflow id is refused, but the message is known from then on', () => {
    const { run, changes } = newRun();
    const validated = run.validate(message({ id: 'other' }));
    expect(validated).toEqual({
      ok: false,
      reason: 'the message id must equal the workflow id',
      errors: [{ field: '/id', message: `must be ${ID}` }],
    });
    if (validated.ok) return;
    run.reject(validated.reason, validated.errors);
    expect(changes).toEqual(['rejected']);
    expect(run.status.rejection).toEqual({ reason: validated.reason, errors: validated.errors });
    expect(run.subscribeRefusal({ url: 'https://x.example/cb' })).toBe('a rejected message has no outcome to report');
  });

  test('a valid message sets the destination, subscribes its own callback and publishes accepted', () => {
    const { run } = validRun({ sender: 'ci', callback: { url: 'https://cb.example/outcome' } });
    expect(run.status.destination).toBe('api.example.com');
    expect(run.status.state).toBe('accepted');
    expect(drain(run)).toEqual([
      {
        kind: 'event',
        event: {
          messageId: ID,
          runId: 'run-1',
          seq: 1,
          state: 'accepted',
          destination: 'api.example.com',
          sender: 'ci',
          at: run.status.createdAt,
        },
      },
    ]);
    run.setState('delivering');
    run.setState('delivered');
    const effects = drain(run);
    expect(effects.map((e) => e.kind)).toEqual(['event', 'event', 'callback']);
    expect(effects[2]).toMatchObject({ kind: 'callback', input: { url: 'https://cb.example/outcome', sender: 'ci' } });
  });
});

describe('state transitions', () => {
  test('every state change is checked against the table, reported, and published', () => {
    const { run, changes } = validRun();
    drain(run);
    run.setState('delivering');
    run.setState('awaiting_reply');
    expect(changes).toEqual(['delivering', 'awaiting_reply']);
    expect(run.status.updatedAt).not.toBe(run.status.createdAt);
    expect(drain(run).map((e) => (e.kind === 'event' ? [e.event.seq, e.event.state] : e.kind))).toEqual([
      [2, 'delivering'],
      [3, 'awaiting_reply'],
    ]);
  });

  test.each([
    ['accepted', 'delivered'],
    ['accepted', 'dead_lettered'],
    ['delivering', 'delivering'],
    ['delivering', 'rejected'],
    ['awaiting_reply', 'delivering'],
    ['dead_lettered', 'replied'],
  ] as const)('%s → %s is refused as a bug', (from, to) => {
    const { run, changes } = validRun();
    const path: Record<string, MessageState[]> = {
      accepted: [],
      delivering: ['delivering'],
      awaiting_reply: ['delivering', 'awaiting_reply'],
      dead_lettered: ['delivering', 'dead_lettered'],
    };
    for (const state of path[from]!) run.setState(state);
    changes.length = 0;
    const before = { ...run.status };
    expect(() => run.setState(to)).toThrow(IllegalTransitionError);
    expect(() => run.setState(to)).toThrow(`a message cannot go from ${from} to ${to}`);
    expect(run.status).toEqual(before);
    expect(changes).toEqual([]);
  });

  test('terminal states other than dead_lettered lead nowhere', () => {
    for (const state of ['replied', 'delivered', 'cancelled', 'rejected', 'discarded'] as const) {
      expect(STATE_TRANSITIONS[state]).toEqual([]);
    }
    const { run } = validRun();
    run.setState('delivering');
    run.setState('delivered');
    expect(() => run.cancel()).toThrow(IllegalTransitionError);
  });
});

describe('states the workflow never enters', () => {
  test('terminated and timed_out are terminal, lead nowhere and come from nowhere: only the API reads them', () => {
    expect(MESSAGE_STATES).toEqual(expect.arrayContaining(['discarded', 'terminated', 'timed_out']));
    for (const state of ['discarded', 'terminated', 'timed_out'] as const) expect(isTerminal(state)).toBe(true);
    for (const state of ['terminated', 'timed_out'] as const) {
      expect(STATE_TRANSITIONS[state]).toEqual([]);
      for (const from of MESSAGE_STATES) expect(STATE_TRANSITIONS[from]).not.toContain(state);
    }
    const { run } = validRun({}, { discardedState: true });
    run.setState('delivering');
    expect(() => run.setState('terminated')).toThrow('a message cannot go from delivering to terminated');
    expect(() => run.setState('timed_out')).toThrow(IllegalTransitionError);
  });

  test('the transition table names every state, and only states', () => {
    expect(Object.keys(STATE_TRANSITIONS).sort()).toEqual([...MESSAGE_STATES].sort());
    for (const targets of Object.values(STATE_TRANSITIONS)) {
      for (const target of targets) expect(MESSAGE_STATES).toContain(target);
    }
  });
});

describe('attempts', () => {
  test('an attempt reported twice (signal and activity result) is recorded once; next attempt follows the latest', () => {
    const { run } = validRun();
    run.recordAttempt(attempt(1));
    run.recordAttempt(attempt(1));
    expect(run.status.attempts).toHaveLength(1);
    expect(run.status.nextAttemptAt).toBe('2030-01-01T00:00:12.005Z');
    run.recordAttempt(attempt(2, { nextDelayMs: null }));
    expect(run.status.attempts).toHaveLength(2);
    expect(run.status.nextAttemptAt).toBeNull();
    run.recordAttempt(attempt(1, { round: 2 }));
    expect(run.status.attempts).toHaveLength(3);
  });

  test('a successful delivery records its attempt and clears the next attempt', () => {
    const { run } = validRun();
    run.deliverySucceeded(attempt(1, { outcome: 'delivered', nextDelayMs: 2000 }));
    expect(run.status.attempts).toHaveLength(1);
    expect(run.status.nextAttemptAt).toBeNull();
  });

  test('a failed delivery records its last attempt and error', () => {
    const { run } = validRun();
    run.recordAttempt(attempt(1));
    expect(run.deliveryInterrupted(false)).toBe(false);
    expect(run.status.nextAttemptAt).toBeNull();
    run.deliveryFailed(attempt(2, { outcome: 'permanent', nextDelayMs: null }), {
      type: 'PermanentDeliveryError',
      message: 'destination answered HTTP 400',
    });
    expect(run.status.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(run.status.lastError).toEqual({ type: 'PermanentDeliveryError', message: 'destination answered HTTP 400' });
    run.deliveryFailed(undefined, { type: 'TimeoutFailure', message: 'deadline' });
    expect(run.status.attempts).toHaveLength(2);
  });

  test('a failed delivery still counts as delivered after a reply, or after the cancel we asked for', () => {
    const withReply = validRun({ reply: { timeout: '1m' } }).run;
    withReply.takeReply({ body: 'ok' }, 'signal');
    expect(withReply.deliveryInterrupted(false)).toBe(true);

    const cancelled = validRun().run;
    cancelled.requestCancel('stop');
    expect(cancelled.deliveryInterrupted(true)).toBe(true);
    // A failure that is no cancellation is a failure, even with a cancel pending.
    expect(cancelled.deliveryInterrupted(false)).toBe(false);
    // A cancellation nobody asked for (the workflow itself was cancelled) is not a delivery.
    expect(validRun().run.deliveryInterrupted(true)).toBe(false);
  });
});

describe('replies', () => {
  test.each<[string, (run: MessageRun) => void, Partial<Message>, string]>([
    ['before validation', () => undefined, {}, 'the message has not been validated yet'],
    ['without a reply expected', () => undefined, {}, 'this message does not expect a reply'],
    [
      'after a reply',
      (run) => run.takeReply({ body: 1 }, 'update'),
      { reply: { timeout: '1m' } },
      'a reply was already received',
    ],
    [
      'while cancelling',
      (run) => run.requestCancel(undefined),
      { reply: { timeout: '1m' } },
      'the message is being cancelled',
    ],
    [
      'after the end',
      (run) => {
        run.setState('delivering');
        run.parked('reply_timeout', run.now(), 1, 1000);
      },
      { reply: { timeout: '1m' } },
      'the message has ended (dead_lettered)',
    ],
  ])('a reply %s is refused', (name, arrange, extra, refusal) => {
    const { run } = name === 'before validation' ? newRun() : validRun(extra);
    arrange(run);
    expect(run.replyRefusal({ body: 'ok' })).toBe(refusal);
  });

  test('a malformed reply is refused with what is wrong', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    expect(run.replyRefusal({ body: 'ok', status: 42 })).toBe('reply status must be an integer from 100 to 599');
    expect(run.replyRefusal({ body: 'ok' })).toBeUndefined();
  });

  test('a refused reply signal is recorded as ignored; an accepted one stops the delivery in flight', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    const delivery = stopper();
    run.deliveryStarted(delivery);
    run.replyBySignal({ body: undefined });
    expect(run.status.ignored).toEqual([{ kind: 'reply', reason: 'a reply needs a body', at: expect.any(String) }]);
    expect(run.hasReply).toBe(false);
    expect(delivery.cancelled).toBe(0);

    run.replyBySignal({ body: { ok: true }, status: 200 });
    expect(run.hasReply).toBe(true);
    expect(delivery.cancelled).toBe(1);
    expect(run.replySettled).toBe(false);
    run.setState('delivering');
    run.replied();
    expect(run.status.reply).toEqual({
      body: { ok: true },
      status: 200,
      receivedAt: expect.any(String),
      via: 'signal',
    });
    expect(run.status.state).toBe('replied');
    expect(run.replySettled).toBe(true);
  });

  test('a reply after the delivery ended stops nothing', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    const delivery = stopper();
    run.deliveryStarted(delivery);
    run.deliveryEnded();
    run.takeReply({ body: 1 }, 'update');
    expect(delivery.cancelled).toBe(0);
  });

  test('a reply timeout is the error the dead letter records', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    run.replyTimedOut(60_000);
    expect(run.status.lastError).toEqual({ type: 'ReplyTimeoutError', message: 'no reply within 60000ms' });
  });

  test('an identical resend (same webhookId and bodyHash) is the reply taken, before and after it is recorded', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    const first = { body: { ok: true }, webhookId: `${ID}#r1`, bodyHash: 'h1' };
    run.takeReply(first, 'update');
    const taken = run.status;
    expect(run.replyRefusal({ ...first })).toBeUndefined();
    run.replyBySignal({ ...first });
    expect(run.status.ignored).toEqual([]);
    run.setState('delivering');
    run.replied();
    expect(run.status.reply).toMatchObject({ ...first, via: 'update' });
    expect(run.status).toBe(taken);
    // Still a resend once the message has ended as replied; the recorded reply is not replaced.
    expect(run.replyRefusal({ ...first })).toBeUndefined();
    run.takeReply({ ...first }, 'signal');
    run.replyBySignal({ ...first });
    expect(run.status.reply).toMatchObject({ via: 'update' });
    expect(run.status.ignored).toEqual([]);
  });

  test('another reply, or one without a webhookId, is not a resend', () => {
    const { run } = validRun({ reply: { timeout: '1m' } });
    run.takeReply({ body: 1, webhookId: `${ID}#r1`, bodyHash: 'h1' }, 'update');
    expect(run.replyRefusal({ body: 2, webhookId: `${ID}#r1`, bodyHash: 'h2' })).toBe('a reply was already received');
    expect(run.replyRefusal({ body: 1, webhookId: `${ID}#r2`, bodyHash: 'h1' })).toBe('a reply was already received');
    expect(run.replyRefusal({ body: 1 })).toBe('a reply was already received');
    const anonymous = validRun({ reply: { timeout: '1m' } }).run;
    anonymous.takeReply({ body: 1 }, 'update');
    expect(anonymous.replyRefusal({ body: 1 })).toBe('a reply was already received');
  });
});

describe('cancellation', () => {
  test('a cancel is taken once, stops the delivery, and its reason ends the message', () => {
    const { run } = validRun();
    const delivery = stopper();
    run.setState('delivering');
    run.deliveryStarted(delivery);
    expect(run.cancelRefusal()).toBeUndefined();
    run.requestCancel('changed my mind');
    expect(run.cancelRequested).toBe(true);
    expect(delivery.cancelled).toBe(1);

    run.requestCancel('again');
    expect(run.status.ignored).toEqual([
      { kind: 'cancel', reason: 'the message has ended (delivering)', at: expect.any(String) },
    ]);
    expect(delivery.cancelled).toBe(1);

    run.recordAttempt(attempt(1));
    run.cancel();
    expect(run.status).toMatchObject({
      state: 'cancelled',
      cancellation: { reason: 'changed my mind' },
      nextAttemptAt: null,
    });
  });

  test('a cancel without a reason, or of the workflow itself, says so', () => {
    const bare = validRun().run;
    bare.requestCancel(undefined);
    bare.cancel();
    expect(bare.status.cancellation?.reason).toBe('cancelled by request');

    const workflow = validRun().run;
    workflow.setState('delivering');
    workflow.cancel();
    expect(workflow.status.cancellation?.reason).toBe('workflow cancelled');
  });

  test('a cancel after the outcome is ignored', () => {
    const { run } = parkedRun();
    run.requestCancel('too late');
    expect(run.cancelRequested).toBe(false);
    expect(run.status.ignored[0]?.reason).toBe('the message has ended (dead_lettered)');
  });
});

describe('dead letters', () => {
  test('parking records the dead letter and when retention ends', () => {
    const { run, changes } = parkedRun();
    expect(changes).toEqual(['delivering', 'dead_lettered']);
    expect(run.status.deadLetter).toEqual({
      reason: 'permanent_error',
      at: '2030-01-02T00:00:00.000Z',
      round: 1,
      retainedUntil: '2030-01-02T00:01:00.000Z',
    });
    expect(run.isParked).toBe(true);
    expect(run.decided).toBe(false);
  });

  test('only a parked message can be redriven or discarded, and only once', () => {
    const { run } = validRun();
    expect(run.redriveRefusal()).toBe('only a dead-lettered message can be redriven; this one is accepted');
    expect(run.discardRefusal()).toBe('only a parked dead-lettered message can be discarded; this one is accepted');

    const parked = parkedRun().run;
    expect(parked.redriveRefusal()).toBeUndefined();
    expect(parked.discardRefusal()).toBeUndefined();
    parked.requestRedrive();
    expect(parked.decided).toBe(true);
    expect(parked.discardChosen).toBe(false);
    expect(parked.redriveRefusal()).toBe('only a dead-lettered message can be redriven; this one is dead_lettered');
    expect(parked.discardRefusal()).toMatch(/^only a parked dead-lettered message can be discarded/);

    const discarding = parkedRun().run;
    discarding.requestDiscard();
    expect(discarding.discardChosen).toBe(true);
    expect(discarding.discardRefusal()).toMatch(/^only a parked/);
  });

  test('a redrive starts the next round afresh', () => {
    const { run } = parkedRun({ reply: { timeout: '1m' } });
    run.requestRedrive();
    run.redriven();
    expect(run.status).toMatchObject({ redrives: 1, deadLetter: null, state: 'dead_lettered' });
    expect(run.redriveStarted).toBe(false);
    expect(run.decided).toBe(false);
    run.setState('delivering');
    expect(run.redriveStarted).toBe(true);
    expect(run.replyRefusal({ body: 1 })).toBeUndefined();
  });

  test('a discard by an operator is a change; one by cancelling the workflow keeps updatedAt', () => {
    const byOperator = parkedRun().run;
    byOperator.discard('2030-01-03T00:00:00.000Z');
    expect(byOperator.discarded).toBe(true);
    expect(byOperator.status.deadLetter?.discardedAt).toBe('2030-01-03T00:00:00.000Z');
    expect(byOperator.status.updatedAt).toBe('2030-01-03T00:00:00.000Z');
    expect(byOperator.status.state).toBe('dead_lettered');

    const byCancel = parkedRun().run;
    const updatedAt = byCancel.status.updatedAt;
    byCancel.discardByCancellation('2030-01-03T00:00:00.000Z');
    expect(byCancel.status.deadLetter?.discardedAt).toBe('2030-01-03T00:00:00.000Z');
    expect(byCancel.status.updatedAt).toBe(updatedAt);
  });

  test('since the committed-events patch a discard ends the message as discarded, everywhere the state shows', () => {
    const byOperator = parkedRun({}, { discardedState: true });
    drain(byOperator.run);
    byOperator.changes.length = 0;
    byOperator.run.discard('2030-01-03T00:00:00.000Z');
    expect(byOperator.run.status).toMatchObject({
      state: 'discarded',
      deadLetter: { reason: 'permanent_error', round: 1, discardedAt: '2030-01-03T00:00:00.000Z' },
    });
    expect(byOperator.run.discarded).toBe(true);
    expect(byOperator.run.isParked).toBe(false);
    // The search attribute follows (onStateChange), and so does the event log.
    expect(byOperator.changes).toEqual(['discarded']);
    expect(drain(byOperator.run).map((e) => (e.kind === 'event' ? [e.event.seq, e.event.state] : e.kind))).toEqual([
      [4, 'discarded'],
    ]);
    expect(byOperator.run.redriveRefusal()).toBe('only a dead-lettered message can be redriven; this one is discarded');
    expect(byOperator.run.cancelRefusal()).toBe('the message has ended (discarded)');

    const byCancel = parkedRun({}, { discardedState: true });
    byCancel.changes.length = 0;
    byCancel.run.discardByCancellation('2030-01-03T00:00:00.000Z');
    expect(byCancel.run.status.state).toBe('discarded');
    expect(byCancel.run.status.deadLetter?.discardedAt).toBe('2030-01-03T00:00:00.000Z');
    expect(byCancel.changes).toEqual(['discarded']);
  });

  test('only a dead letter can be discarded', () => {
    for (const from of ['accepted', 'delivering', 'awaiting_reply'] as const) {
      expect(STATE_TRANSITIONS[from]).not.toContain('discarded');
    }
    const { run } = validRun({}, { discardedState: true });
    run.setState('delivering');
    expect(() => run.setState('discarded')).toThrow(IllegalTransitionError);
  });

  test('a cancel that raced the failed attempt ends the redriven round as cancelled', () => {
    const { run } = validRun();
    run.setState('delivering');
    run.requestCancel('stop');
    run.parked('permanent_error', run.now(), 1, 1000);
    run.redriven();
    expect(run.cancelRequested).toBe(true);
    run.cancel();
    expect(run.status.state).toBe('cancelled');
  });
});

describe('subscriptions', () => {
  test.each<[string, () => MessageRun, unknown, string]>([
    [
      'without events and callbacks',
      () => validRun({}, { publishing: false }).run,
      { url: 'https://cb.example/' },
      'this message was started by an earlier Herald version without callbacks',
    ],
    ['before validation', () => newRun().run, { url: 'https://cb.example/' }, 'the message has not been validated yet'],
    ['to a URL that is not http(s)', () => validRun().run, { url: 'ftp://cb.example/' }, 'url must be an http(s) URL'],
    ['without a URL', () => validRun().run, undefined, 'url must be an http(s) URL'],
  ])('a subscription %s is refused', (_name, make, request, refusal) => {
    expect(make().subscribeRefusal(request as { url?: unknown })).toBe(refusal);
  });

  test(`a message takes at most ${MAX_SUBSCRIPTIONS} callbacks, its own included`, () => {
    const { run } = validRun({ callback: { url: 'https://cb.example/own' } });
    for (let i = 1; i < MAX_SUBSCRIPTIONS; i++) {
      expect(run.subscribeRefusal({ url: `https://cb.example/${i}` })).toBeUndefined();
      expect(run.subscribe(`https://cb.example/${i}`)).toEqual({ subscriptions: i + 1, notifiedNow: false });
    }
    expect(run.subscribeRefusal({ url: 'https://cb.example/last' })).toBe(
      `at most ${MAX_SUBSCRIPTIONS} callbacks per message`,
    );
  });

  test('subscribers hear every outcome, numbered; a parked message reports to a new subscriber at once', () => {
    const { run } = validRun({ metadata: { order: '7' } });
    run.subscribe('https://cb.example/a');
    drain(run);
    run.setState('delivering');
    run.parked('permanent_error', run.now(), 1, 60_000);
    const atPark = drain(run).filter((e) => e.kind === 'callback');
    expect(atPark).toHaveLength(1);
    expect(run.subscribe('https://cb.example/b')).toEqual({ subscriptions: 2, notifiedNow: true });
    const now = drain(run);
    expect(now.map((e) => (e.kind === 'callback' ? e.input.callbackId : e.kind))).toEqual([`${ID}.callback-2`]);
    const [first] = atPark;
    if (first?.kind !== 'callback') throw new Error('expected a callback');
    expect(first.input).toEqual({
      callbackId: `${ID}.callback-1`,
      messageId: ID,
      url: 'https://cb.example/a',
      sender: null,
      payload: expect.objectContaining({ type: 'message.dead_lettered' }),
      // No body, no headers: a dead-lettered callback keeps only this much of its message.
      message: { id: ID, destination: { url: 'https://api.example.com/hook' }, metadata: { order: '7' } },
      round: 1,
    });
  });

  test('a callback carries the outcome as it was, not as it becomes', () => {
    const { run } = parkedRun();
    run.subscribe('https://cb.example/a');
    const [callback] = drain(run).filter((e) => e.kind === 'callback');
    run.requestRedrive();
    run.redriven();
    if (callback?.kind !== 'callback') throw new Error('expected a callback');
    expect(callback.input.payload).toMatchObject({
      type: 'message.dead_lettered',
      data: { state: 'dead_lettered', redrives: 0, deadLetter: { reason: 'permanent_error' } },
    });
  });

  test('a restarted run numbers its callbacks apart from the first run', () => {
    const { run } = validRun({ callback: { url: 'https://cb.example/a' } }, { firstRound: 3 });
    run.setState('delivering');
    run.setState('delivered');
    const callbacks = drain(run).flatMap((e) => (e.kind === 'callback' ? [e.input.callbackId] : []));
    expect(callbacks).toEqual([`${ID}.callback-r3-1`]);
  });

  test('outcomes before events existed publish nothing', () => {
    const { run } = validRun({ callback: { url: 'https://cb.example/a' } }, { publishing: false });
    run.setState('delivering');
    run.setState('delivered');
    expect(run.effects.hasWaiting).toBe(false);
    expect(run.effects.idle).toBe(true);
  });
});

describe('holds (destination control)', () => {
  const hold = (reason: 'destination_paused' | 'circuit_open' | 'retries_off' = 'destination_paused') => ({
    reason,
    since: '2030-01-01T00:00:05.000Z',
    checksAgainAt: '2030-01-01T00:00:06.000Z',
  });

  test('a hold moves a delivering message to paused and back; the hold is shown while it lasts', () => {
    const { run, changes } = validRun();
    run.setState('delivering');
    run.deliveryHeld(hold());
    expect(run.status.state).toBe('paused');
    expect(run.status.hold).toEqual(hold());
    run.deliveryHeld(hold('circuit_open'));
    expect(run.status.state).toBe('paused');
    expect(run.status.hold?.reason).toBe('circuit_open');
    run.deliveryHeld(null);
    expect(run.status.state).toBe('delivering');
    expect(run.status.hold).toBeNull();
    expect(changes).toEqual(['delivering', 'paused', 'delivering']);
  });

  test('an attempt recorded while paused means the hold was lifted, even if its signal never comes', () => {
    const { run } = validRun();
    run.setState('delivering');
    run.deliveryHeld(hold());
    run.recordAttempt(attempt(3));
    expect(run.status.state).toBe('delivering');
    expect(run.status.hold).toBeNull();
  });

  test('a paused message can end as delivering can: delivered, dead-lettered, cancelled', () => {
    for (const end of ['delivered', 'dead_lettered', 'cancelled', 'awaiting_reply', 'replied'] as const) {
      const { run } = validRun();
      run.setState('delivering');
      run.deliveryHeld(hold());
      run.deliveryEnded();
      expect(run.status.hold).toBeNull();
      run.setState(end);
      expect(run.status.state).toBe(end);
    }
  });

  test('a hold that arrives after the delivery ended, or before it started, changes nothing', () => {
    const early = validRun().run;
    early.deliveryHeld(hold());
    expect(early.status.state).toBe('accepted');
    expect(early.status.hold).toBeUndefined();
    const late = validRun().run;
    late.setState('delivering');
    late.setState('delivered');
    late.deliveryHeld(hold());
    expect(late.status.state).toBe('delivered');
    expect(late.status.hold).toBeUndefined();
  });
});

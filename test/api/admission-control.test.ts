/** The admission controller's decisions, fed backlog samples and a hand-moved clock (pure: no Temporal). */
import { AdmissionController, type AdmissionTransition } from '../../src/api/admission-control';
import type { AdmissionSettings } from '../../src/config/config';
import type { BacklogSample, QueueBacklog } from '../../src/temporal/task-queue-backlog';

const SETTINGS: AdmissionSettings = {
  enabled: true,
  maxBacklogCount: 100,
  maxBacklogAgeMs: 2000,
  maxStartLatencyMs: 150,
  maxStartsInFlight: 3,
  latencyWindowMs: 2000,
  sampleMaxAgeMs: 5000,
  maxRetryAfterMs: 10_000,
};

const EMPTY: QueueBacklog = { count: 0, ageMs: 0, dispatchRate: 0 };

function setup(settings: Partial<AdmissionSettings> = {}) {
  let now = 1_000_000;
  const controller = new AdmissionController({ ...SETTINGS, ...settings }, () => now);
  const transitions: AdmissionTransition[] = [];
  controller.onTransition((t) => transitions.push(t));
  const sample = (workflowTasks: Partial<QueueBacklog>, activityTasks: Partial<QueueBacklog> = {}): BacklogSample => ({
    at: now,
    workflowTasks: { ...EMPTY, ...workflowTasks },
    activityTasks: { ...EMPTY, ...activityTasks },
  });
  return {
    controller,
    transitions,
    sample,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Admits and immediately ends `n` starts that each took `ms`. */
function starts(controller: AdmissionController, n: number, ms: number): void {
  for (let i = 0; i < n; i += 1) {
    expect(controller.tryAdmit()).toEqual({ admit: true });
    controller.startEnded(ms);
  }
}

test('an empty backlog and quick starts admit', () => {
  const { controller, sample, transitions } = setup();
  controller.recordBacklog(sample({ count: 5, ageMs: 100, dispatchRate: 20 }));
  starts(controller, 20, 10);
  expect(controller.shedding).toBe(false);
  expect(transitions).toEqual([]);
});

test('a workflow task backlog over its count sheds, with Retry-After from the drain rate', () => {
  const { controller, sample, transitions } = setup();
  controller.recordBacklog(sample({ count: 160, ageMs: 900, dispatchRate: 20 }));
  const decision = controller.tryAdmit();
  // 60 tasks over the limit at 20/s: 3 s.
  expect(decision).toMatchObject({ admit: false, reason: 'backlog', retryAfterSeconds: 3 });
  expect(decision.admit === false && decision.detail).toBe(
    'Temporal is behind: 160 workflow tasks wait for a worker (limit 100); retry after 3 s',
  );
  expect(decision.admit === false && decision.backlog?.workflowTasks.count).toBe(160);
  expect(transitions).toEqual([{ shedding: true, reason: 'backlog', detail: expect.any(String) }]);
});

test('an old activity or workflow backlog sheds; its overshoot is the Retry-After', () => {
  const { controller, sample } = setup();
  controller.recordBacklog(sample({ count: 10, ageMs: 500 }, { count: 40, ageMs: 5200 }));
  const decision = controller.tryAdmit();
  expect(decision).toMatchObject({ admit: false, reason: 'backlog', retryAfterSeconds: 4 });
  expect(decision.admit === false && decision.detail).toBe(
    'Temporal is behind: the activity task backlog is 5.2 s old (limit 2.0 s); retry after 4 s',
  );
});

test('Retry-After is at least 1 s and at most the configured cap; no dispatch at all gives the cap', () => {
  const { controller, sample } = setup();
  controller.recordBacklog(sample({ count: 101, ageMs: 0, dispatchRate: 1000 }));
  expect(controller.tryAdmit()).toMatchObject({ retryAfterSeconds: 1 });
  controller.recordBacklog(sample({ count: 100_000, ageMs: 0, dispatchRate: 1 }));
  expect(controller.tryAdmit()).toMatchObject({ retryAfterSeconds: 10 });
  controller.recordBacklog(sample({ count: 500, ageMs: 0, dispatchRate: 0 }));
  expect(controller.tryAdmit()).toMatchObject({ retryAfterSeconds: 10 });
});

test('the backlog draining ends shedding, with one transition each way', () => {
  const { controller, sample, transitions } = setup();
  controller.recordBacklog(sample({ count: 300, dispatchRate: 50 }));
  for (let i = 0; i < 10; i += 1) expect(controller.tryAdmit().admit).toBe(false);
  controller.recordBacklog(sample({ count: 250, dispatchRate: 50 }));
  controller.recordBacklog(sample({ count: 20, dispatchRate: 50 }));
  expect(controller.tryAdmit()).toEqual({ admit: true });
  expect(transitions.map((t) => t.shedding)).toEqual([true, false]);
});

test('a sample older than sampleMaxAgeMs is ignored (the poll stopped answering)', () => {
  const { controller, sample, advance } = setup();
  controller.recordBacklog(sample({ count: 300 }));
  expect(controller.tryAdmit().admit).toBe(false);
  advance(5001);
  expect(controller.tryAdmit()).toEqual({ admit: true });
});

test('a slow p95 of recent starts sheds until the slow starts leave the window', () => {
  const { controller, sample, advance, transitions } = setup();
  controller.recordBacklog(sample({}));
  starts(controller, 19, 20);
  controller.tryAdmit();
  controller.startEnded(900); // one slow start in 20 is the p95's 5 %: not yet
  advance(100);
  expect(controller.tryAdmit().admit).toBe(true);
  controller.startEnded(20);
  starts(controller, 3, 400);
  advance(100);
  const decision = controller.tryAdmit();
  expect(decision).toMatchObject({ admit: false, reason: 'start-latency', retryAfterSeconds: 1 });
  expect(decision.admit === false && decision.startLatencyP95Ms).toBeGreaterThan(150);
  advance(2001);
  expect(controller.tryAdmit()).toEqual({ admit: true });
  expect(transitions.map((t) => [t.shedding, t.reason])).toEqual([
    [true, 'start-latency'],
    [false, undefined],
  ]);
});

test('fewer than five starts in the window never shed on latency', () => {
  const { controller, advance } = setup();
  starts(controller, 4, 5_000);
  advance(100);
  expect(controller.tryAdmit()).toEqual({ admit: true });
});

test('at maxStartsInFlight, starts are refused per request without changing the shedding state', () => {
  const { controller, transitions } = setup();
  for (let i = 0; i < 3; i += 1) expect(controller.tryAdmit()).toEqual({ admit: true });
  expect(controller.tryAdmit()).toMatchObject({ admit: false, reason: 'starts-in-flight', retryAfterSeconds: 1 });
  controller.startEnded(10);
  expect(controller.tryAdmit()).toEqual({ admit: true });
  expect(controller.shedding).toBe(false);
  expect(transitions).toEqual([]);
});

test('between polls a request re-evaluates at most every 100 ms', () => {
  const { controller, advance } = setup();
  starts(controller, 5, 400); // slow, but not evaluated yet
  expect(controller.tryAdmit().admit).toBe(true);
  controller.startEnded(400);
  advance(100);
  expect(controller.tryAdmit().admit).toBe(false);
});

test('disabled: everything is admitted, whatever the backlog', () => {
  const { controller, sample, transitions } = setup({ enabled: false });
  controller.recordBacklog(sample({ count: 1_000_000, ageMs: 600_000 }));
  starts(controller, 50, 5_000);
  expect(transitions).toEqual([]);
});

describe('the adaptive limit on starts in flight (AIMD)', () => {
  test('a slow start halves it (down to one), a quick one raises it by one (up to maxStartsInFlight)', () => {
    const { controller } = setup({ maxStartsInFlight: 8 });
    expect(controller.startLimit).toBe(8);
    for (const expected of [4, 2, 1, 1]) {
      expect(controller.tryAdmit().admit).toBe(true);
      controller.startEnded(400);
      expect(controller.startLimit).toBe(expected);
    }
    // With one start in flight at a limit of one, the next new message is refused, naming start latency.
    expect(controller.tryAdmit().admit).toBe(true);
    const refused = controller.tryAdmit();
    expect(refused).toMatchObject({ admit: false, reason: 'start-latency', retryAfterSeconds: 1 });
    expect(refused.admit === false && refused.detail).toBe(
      'Temporal is behind: starts take over 150 ms, so this host runs only 1 at once; retry after 1 s',
    );
    controller.startEnded(10);
    expect(controller.startLimit).toBe(2);
    starts(controller, 20, 10);
    expect(controller.startLimit).toBe(8);
  });

  test('after a shedding episode the host starts again from one start in flight', () => {
    const { controller, sample } = setup({ maxStartsInFlight: 8 });
    controller.recordBacklog(sample({ count: 500, dispatchRate: 100 }));
    expect(controller.tryAdmit().admit).toBe(false);
    controller.recordBacklog(sample({ count: 0 }));
    expect(controller.startLimit).toBe(1);
    expect(controller.tryAdmit().admit).toBe(true);
    expect(controller.tryAdmit()).toMatchObject({ admit: false, reason: 'start-latency' });
  });
});

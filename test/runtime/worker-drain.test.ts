/**
 * SIGTERM drains the real worker process: an attempt in flight finishes and its result is reported,
 * instead of being cancelled and repeated by the next worker. An attempt the grace cuts is a worker
 * shutdown, not a network error, and another worker retries it at once.
 */
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { eventually } from '../helpers/eventually';
import { uniqueId } from '../helpers/herald';

const ANSWER_AFTER_MS = 2_000;

let fixture: HeraldFixture;

beforeAll(async () => {
  // No worker in this process: the worker processes are the only ones polling this task queue. The
  // attempt timeout leaves room for the slow answer.
  // A deadline well above a worker process's start on a loaded machine (bundling its workflows takes
  // seconds of CPU): the replacement worker must find the message still deliverable.
  fixture = await startFixture({
    worker: false,
    env: { HERALD_RETRY_ATTEMPT_TIMEOUT: '10s', HERALD_RETRY_DEADLINE: '3m' },
  });
});

test('an attempt in flight at SIGTERM completes once and is reported; the next worker does not repeat it', async () => {
  const { herald, downstream } = fixture;
  downstream.script('/slow', [{ status: 200, delayMs: ANSWER_AFTER_MS }]);
  // Blank is unset: the default grace, not the tests' 0.
  const defaultGrace = { HERALD_WORKER_SHUTDOWN_GRACE: '' };
  const first = await fixture.startWorkerProcess(defaultGrace);

  const id = uniqueId('drain');
  await herald.send({ id, destination: { url: downstream.url('/slow') }, body: { drain: true } });
  const [request] = await eventually(() => downstream.requests('/slow'), {
    until: (requests) => requests.length === 1,
    what: 'the request to reach the downstream',
    intervalMs: 20,
  });
  const signalledAt = Date.now();
  first.child.kill('SIGTERM');
  const firstExit = first.exited.then((code) => ({ code, at: Date.now() }));
  // The next worker is already polling while the first one drains.
  const second = await fixture.startWorkerProcess(defaultGrace);

  const { code, at: drainedAt } = await firstExit;
  expect(code).toBe(0);
  const status = await herald.waitForState(id, 'delivered', 90_000);
  expect(status.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status: 200 })]);
  expect(downstream.requests('/slow')).toHaveLength(1);
  // The first worker stopped only after the answer came (it waited for the attempt instead of cutting it).
  expect(drainedAt - request!.at).toBeGreaterThanOrEqual(ANSWER_AFTER_MS);
  // In its log: the signal, the drain, the attempt's result, then the end.
  const lines = first.logs();
  const indexOf = (predicate: (line: Record<string, unknown>) => boolean) => lines.findIndex(predicate);
  const order = [
    indexOf((line) => line.msg === 'stopping' && line.signal === 'SIGTERM'),
    indexOf((line) => line.msg === 'worker draining: attempts in flight finish'),
    indexOf((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered'),
    indexOf((line) => line.msg === 'stopped' && line.exitCode === 0),
  ];
  expect(order.every((index) => index >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  console.log(
    `drain: SIGTERM ${signalledAt - request!.at} ms after the request arrived; the first worker exited ` +
      `${drainedAt - signalledAt} ms after SIGTERM (the answer took ${ANSWER_AFTER_MS} ms); ` +
      `delivered with ${status.attempts.length} attempt`,
  );
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 200_000);

test('an attempt cut when the grace runs out is recorded as worker_shutdown and the next worker delivers at once', async () => {
  const { herald, downstream } = fixture;
  // The first answer would come long after the cut; the retry is answered at once.
  downstream.script('/cut', [
    { status: 200, delayMs: 8_000 },
    { status: 200, delayMs: 0 },
  ]);
  const noGrace = { HERALD_WORKER_SHUTDOWN_GRACE: '0' };
  const first = await fixture.startWorkerProcess(noGrace);

  const id = uniqueId('cut');
  await herald.send({ id, destination: { url: downstream.url('/cut') }, body: { cut: true } });
  await eventually(() => downstream.requests('/cut'), {
    until: (requests) => requests.length === 1,
    what: 'the request to reach the downstream',
    intervalMs: 20,
  });
  first.child.kill('SIGTERM');
  const second = await fixture.startWorkerProcess(noGrace);
  expect(await first.exited).toBe(0);

  const status = await herald.waitForState(id, 'delivered', 90_000);
  expect(status.attempts).toEqual([
    expect.objectContaining({
      attempt: 1,
      outcome: 'retryable',
      cause: 'worker_shutdown',
      errorType: 'RetryableDeliveryError',
      nextDelayMs: 1,
    }),
    expect.objectContaining({ attempt: 2, outcome: 'delivered', status: 200 }),
  ]);
  expect(status.attempts[0]).not.toHaveProperty('status');
  expect(downstream.requests('/cut')).toHaveLength(2);
  expect(first.logs().some((line) => line.msg === 'delivery attempt' && line.cause === 'worker_shutdown')).toBe(true);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 200_000);

describe('an attempt a worker shutdown cuts uses none of the plan’s attempts', () => {
  const noGrace = { HERALD_WORKER_SHUTDOWN_GRACE: '0' };

  /** Sends a message whose first attempt hangs, cuts it with SIGTERM and lets a second worker go on. */
  async function cutFirstAttempt(path: string, maximumAttempts: number) {
    const { herald, downstream } = fixture;
    const first = await fixture.startWorkerProcess(noGrace);
    const id = uniqueId('budget');
    await herald.send({
      id,
      destination: { url: downstream.url(path) },
      body: { budget: true },
      retry: { maximumAttempts, initialInterval: '100ms', jitter: 0 },
    });
    await eventually(() => downstream.requests(path), {
      until: (requests) => requests.length === 1,
      what: 'the request to reach the downstream',
      intervalMs: 20,
    });
    first.child.kill('SIGTERM');
    const second = await fixture.startWorkerProcess(noGrace);
    expect(await first.exited).toBe(0);
    return { id, second };
  }

  test('with 2 attempts: cut, 503, then 200 is delivered (the cut was not the first of two)', async () => {
    const { herald, downstream } = fixture;
    downstream.script('/budget-delivered', [
      { status: 200, delayMs: 8_000 },
      { status: 503, delayMs: 0 },
      { status: 200, delayMs: 0 },
    ]);
    const { id, second } = await cutFirstAttempt('/budget-delivered', 2);
    const status = await herald.waitForState(id, 'delivered', 90_000);
    expect(status.attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.cause ?? null])).toEqual([
      [1, 'retryable', 'worker_shutdown'],
      [2, 'retryable', 'http_503'],
      [3, 'delivered', null],
    ]);
    // The 503 was the first counted attempt: its backoff is the initial interval, and it was retried.
    expect(status.attempts[1]).toMatchObject({ status: 503, nextDelayMs: 100 });
    expect(downstream.requests('/budget-delivered')).toHaveLength(3);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 200_000);

  test('with 1 attempt: cut, then 503 is the one counted attempt, and the message is dead-lettered as max_attempts_exhausted', async () => {
    const { herald, downstream } = fixture;
    downstream.script('/budget-exhausted', [
      { status: 200, delayMs: 8_000 },
      { status: 503, delayMs: 0 },
    ]);
    const { id, second } = await cutFirstAttempt('/budget-exhausted', 1);
    const status = await herald.waitForState(id, 'dead_lettered', 90_000);
    expect(status.deadLetter).toMatchObject({ reason: 'max_attempts_exhausted' });
    expect(status.attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.cause ?? null])).toEqual([
      [1, 'retryable', 'worker_shutdown'],
      [2, 'retryable', 'http_503'],
    ]);
    expect(status.attempts[1]).toMatchObject({ status: 503, nextDelayMs: null });
    expect(status.lastError).toMatchObject({ type: 'RetryableDeliveryError' });
    const deadLetter = await eventually(() => herald.store.get(id), { what: 'the dead letter', until: Boolean });
    expect(deadLetter).toMatchObject({ reason: 'max_attempts_exhausted', round: 1 });
    expect(downstream.requests('/budget-exhausted')).toHaveLength(2);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 200_000);
});

/**
 * The retry policy measured on the real server: Retry-After sets the delay, backoff grows, jitter stays
 * in bounds, and max attempts, deadline and permanent errors each end in exactly one dead-letter record.
 */
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
});

/** Milliseconds between consecutive requests to a path. */
function gaps(path: string): number[] {
  const times = downstream.requests(path).map((r) => r.at);
  return times.slice(1).map((at, i) => at - times[i]!);
}

/** Timers fire no earlier than asked; allow a little for clock granularity between processes. */
const SLACK_MS = 25;

async function deadLetterRecords(id: string) {
  const { records } = await herald.store.list({ limit: 500 });
  return records.filter((record) => record.id === id);
}

test('Retry-After in seconds sets the delay before the next attempt', async () => {
  downstream.script('/retry-after-seconds', [{ status: 503, headers: { 'retry-after': '2' } }, { status: 200 }]);
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/retry-after-seconds') }, body: {} });
  const status = await herald.waitForState(id, 'delivered');
  expect(status.attempts[0]).toMatchObject({ outcome: 'retryable', status: 503, nextDelayMs: 2000 });
  const [gap] = gaps('/retry-after-seconds');
  expect(gap).toBeGreaterThanOrEqual(2000 - SLACK_MS);
  await recordHistory(herald.client, id, 'retry-after-honoured');
});

test('Retry-After as an HTTP-date sets the delay too', async () => {
  downstream.handle('/retry-after-date', () =>
    downstream.requests('/retry-after-date').length === 1
      ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() } }
      : { status: 200 },
  );
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/retry-after-date') }, body: {} });
  const status = await herald.waitForState(id, 'delivered');
  // HTTP-dates have one-second resolution, so the delay is between 2 and 3 seconds.
  const delay = status.attempts[0]?.nextDelayMs ?? 0;
  expect(delay).toBeGreaterThan(1000);
  expect(delay).toBeLessThanOrEqual(3000);
  expect(gaps('/retry-after-date')[0]).toBeGreaterThanOrEqual(delay - SLACK_MS);
});

test('backoff grows exponentially and max attempts ends in exactly one dead-letter record', async () => {
  downstream.script('/backoff', [{ status: 503 }]);
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url('/backoff') },
    body: {},
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumAttempts: 4, jitter: 0 },
  });
  const status = await herald.waitForState(id, 'dead_lettered');
  expect(status.attempts.map((a) => a.nextDelayMs)).toEqual([200, 400, 800, null]);
  expect(downstream.requests('/backoff')).toHaveLength(4);
  gaps('/backoff').forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual([200, 400, 800][i]! - SLACK_MS));
  expect(status.deadLetter?.reason).toBe('max_attempts_exhausted');

  const records = await deadLetterRecords(id);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ reason: 'max_attempts_exhausted', round: 1, state: 'dead_lettered' });
  expect(records[0]?.attempts).toHaveLength(4);
  expect(records[0]?.lastError?.type).toBe('RetryableDeliveryError');
  await recordHistory(herald.client, id, 'max-attempts-dead-lettered');
});

test('backoff is capped at maximumInterval', async () => {
  downstream.script('/capped', [{ status: 500 }]);
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url('/capped') },
    body: {},
    retry: {
      initialInterval: '100ms',
      backoffCoefficient: 10,
      maximumInterval: '300ms',
      maximumAttempts: 4,
      jitter: 0,
    },
  });
  const status = await herald.waitForState(id, 'dead_lettered');
  expect(status.attempts.map((a) => a.nextDelayMs)).toEqual([100, 300, 300, null]);
});

test('jitter keeps every delay within [base × (1 − jitter), base]', async () => {
  downstream.script('/jitter', [{ status: 503 }]);
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url('/jitter') },
    body: {},
    retry: { initialInterval: '400ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 4, jitter: 0.5 },
  });
  const status = await herald.waitForState(id, 'dead_lettered');
  const delays = status.attempts.slice(0, 3).map((a) => a.nextDelayMs ?? -1);
  delays.forEach((delay, i) => {
    const base = 400 * 2 ** i;
    expect(delay).toBeGreaterThanOrEqual(base * 0.5);
    expect(delay).toBeLessThanOrEqual(base);
  });
  gaps('/jitter').forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(delays[i]! - SLACK_MS));
});

test('a passed deadline ends in exactly one dead-letter record', async () => {
  downstream.script('/deadline', [{ status: 503 }]);
  const id = uniqueId('msg');
  const sentAt = Date.now();
  await herald.send({
    id,
    destination: { url: downstream.url('/deadline') },
    body: {},
    retry: {
      initialInterval: '400ms',
      backoffCoefficient: 1,
      maximumAttempts: 100,
      attemptTimeout: '1s',
      deadline: '2s',
    },
  });
  const status = await herald.waitForState(id, 'dead_lettered');
  expect(status.deadLetter?.reason).toBe('deadline_exceeded');
  expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
  expect(status.attempts.length).toBeGreaterThan(1);
  expect(status.attempts.length).toBeLessThan(100);
  const records = await deadLetterRecords(id);
  expect(records).toHaveLength(1);
  expect(records[0]?.reason).toBe('deadline_exceeded');
  await recordHistory(herald.client, id, 'deadline-dead-lettered');
});

test('a permanent error ends in exactly one dead-letter record after one attempt', async () => {
  downstream.script('/gone', [{ status: 410 }]);
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/gone') }, body: {}, retry: { maximumAttempts: 10 } });
  const status = await herald.waitForState(id, 'dead_lettered');
  expect(status.attempts).toHaveLength(1);
  const records = await deadLetterRecords(id);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ reason: 'permanent_error', lastError: { type: 'PermanentDeliveryError' } });
});

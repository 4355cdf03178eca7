/**
 * Ordered delivery per key on the real dev server, through the API: messages on one key arrive in
 * acceptance order, a retrying one holds back only its own key, and a dead-lettered head lets its
 * successor go (skip) or holds it until it is discarded (block); a predecessor whose start has not
 * reached Temporal yet is waited for.
 */
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';
import { startMessage } from '../../src/temporal/message-operations';
import type { OrderingStart } from '../../src/workflows/ordering-turn';

let fixture: HeraldFixture;
let downstream: Downstream;

beforeAll(async () => {
  fixture = await startFixture({
    api: true,
    env: { HERALD_RETRY_INITIAL_INTERVAL: '1s', HERALD_RETRY_BACKOFF_COEFFICIENT: '1' },
  });
  downstream = await startDownstream();
}, 60_000);

afterAll(async () => {
  await downstream?.close();
});

/** Sends one at a time, so acceptance order is the order of `ids`. */
async function sendInOrder(ids: string[], url: string, extra: (id: string) => Record<string, unknown>): Promise<void> {
  for (const id of ids) {
    const sent = await fixture.api.call('POST', '/v1/messages', {
      json: { id, destination: { url }, body: {}, ...extra(id) },
    });
    expect(sent.status).toBe(202);
  }
}

test('50 messages on one key whose 3rd fails twice arrive in order; 5 other keys are not held back by it', async () => {
  const key = uniqueId('key');
  const ids = Array.from({ length: 50 }, (_, i) => `${key}-m${String(i).padStart(2, '0')}`);
  const third = ids[2]!;
  let thirdAttempts = 0;
  let thirdDeliveredAt = 0;
  downstream.handle('/ordered', (request) => {
    if (request.headers['idempotency-key'] !== third) return { status: 200 };
    thirdAttempts += 1;
    if (thirdAttempts <= 2) return { status: 503 };
    thirdDeliveredAt = Date.now();
    return { status: 200 };
  });
  const others = Array.from({ length: 5 }, (_, k) => Array.from({ length: 4 }, (_, i) => `${key}-other${k}-m${i}`));
  await sendInOrder(ids.slice(0, 3), downstream.url('/ordered'), () => ({ orderingKey: key }));
  await Promise.all(
    others.map((group, k) =>
      sendInOrder(group, downstream.url('/ordered'), () => ({ orderingKey: `${key}-other${k}` })),
    ),
  );
  await sendInOrder(ids.slice(3), downstream.url('/ordered'), () => ({ orderingKey: key }));

  for (const id of [...ids, ...others.flat()]) await fixture.herald.waitForState(id, 'delivered', 60_000);
  const arrivals = (prefix: string[]) => {
    const wanted = new Set(prefix);
    return downstream
      .requests('/ordered')
      .filter((r) => wanted.has(r.headers['idempotency-key'] as string))
      .map((r) => r.headers['idempotency-key'] as string);
  };
  // The key's messages in acceptance order: the 3rd three times, nothing after it before its success.
  expect(arrivals(ids)).toEqual([ids[0], ids[1], third, third, third, ...ids.slice(3)]);
  // The other keys, each in its own order, all through before the 3rd's retries succeeded (2 s of backoff).
  for (const group of others) {
    expect(arrivals(group)).toEqual(group);
    const last = downstream.requests('/ordered').filter((r) => r.headers['idempotency-key'] === group.at(-1))[0]!;
    expect(last.at).toBeLessThan(thirdDeliveredAt);
  }
  const status = await fixture.herald.status(ids[3]!);
  expect(status.ordering).toMatchObject({ key, predecessor: third, seq: 4, waiting: false });
}, 120_000);

test('a dead-lettered head lets its successor go by default (skip), and holds it with block until it is discarded', async () => {
  downstream.script('/gone', [{ status: 410 }]);
  const skipKey = uniqueId('skip');
  const [skipHead, skipNext] = [`${skipKey}-1`, `${skipKey}-2`];
  await sendInOrder([skipHead, skipNext], downstream.url('/gone'), () => ({ orderingKey: skipKey }));
  await fixture.herald.waitForState(skipHead, 'dead_lettered');
  await fixture.herald.waitForState(skipNext, 'dead_lettered');

  const blockKey = uniqueId('block');
  const [blockHead, blockNext] = [`${blockKey}-1`, `${blockKey}-2`];
  await sendInOrder([blockHead], downstream.url('/gone'), () => ({
    orderingKey: blockKey,
    orderingDeadLetter: 'block',
  }));
  await sendInOrder([blockNext], downstream.url('/after-block'), () => ({ orderingKey: blockKey }));
  await fixture.herald.waitForState(blockHead, 'dead_lettered');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const waiting = await fixture.herald.status(blockNext);
  expect(waiting.state).toBe('accepted');
  expect(waiting.ordering).toMatchObject({ predecessor: blockHead, waiting: true });
  expect(downstream.requests('/after-block')).toHaveLength(0);

  const discarded = await fixture.api.call('DELETE', `/v1/dead-letters/${blockHead}`);
  expect(discarded.status).toBe(200);
  await fixture.herald.waitForState(blockNext, 'delivered', 30_000);
  await eventually(async () => downstream.requests('/after-block').length, {
    until: (n) => n === 1,
    what: 'the successor delivered',
  });
}, 90_000);

describe('a predecessor Temporal does not know yet (its API host claimed the place; its start is on the way)', () => {
  /** Starts a message with its place given, as the API does after its claim. */
  const startWithPlace = (id: string, path: string, ordering: OrderingStart) =>
    startMessage(
      fixture.herald.client,
      { id, destination: { url: downstream.url(path) }, body: {} },
      fixture.herald.taskQueue,
      undefined,
      ordering,
    );
  const arrivals = (path: string) => downstream.requests(path).map((r) => r.headers['idempotency-key']);

  test('the successor waits for it to start, then for its outcome', async () => {
    const key = uniqueId('late');
    const [head, next] = [`${key}-1`, `${key}-2`];
    downstream.handle('/late-start', () => ({ status: 200 }));
    await startWithPlace(next, '/late-start', {
      key,
      predecessor: head,
      seq: 2,
      predecessorClaimedAt: new Date().toISOString(),
      onDeadLetter: 'skip',
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(arrivals('/late-start')).toEqual([]);
    expect((await fixture.herald.status(next)).ordering).toMatchObject({ predecessor: head, waiting: true });

    await startWithPlace(head, '/late-start', { key, predecessor: null, seq: 1, onDeadLetter: 'skip' });
    await fixture.herald.waitForState(next, 'delivered', 30_000);
    expect(arrivals('/late-start')).toEqual([head, next]);
  }, 60_000);

  test('one that never starts holds its successor only until its claim is a minute old', async () => {
    const key = uniqueId('never');
    downstream.handle('/never-started', () => ({ status: 200 }));
    const next = `${key}-2`;
    const startedAt = Date.now();
    await startWithPlace(next, '/never-started', {
      key,
      predecessor: `${key}-1`,
      seq: 2,
      // Claimed 57 s ago: the grace ends in about 3 s.
      predecessorClaimedAt: new Date(startedAt - 57_000).toISOString(),
      onDeadLetter: 'skip',
    });
    await fixture.herald.waitForState(next, 'delivered', 30_000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_500);
    expect(arrivals('/never-started')).toEqual([next]);

    // A place whose claim time is unknown (pruned long ago) has no run on the way: no wait at all.
    const old = `${key}-old`;
    await startWithPlace(old, '/never-started', { key, predecessor: `${key}-pruned`, seq: 3, onDeadLetter: 'skip' });
    await fixture.herald.waitForState(old, 'delivered', 10_000);
  }, 60_000);
});

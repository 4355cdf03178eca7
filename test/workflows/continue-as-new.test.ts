/**
 * A message redriven many times continues as new every ROUNDS_PER_RUN rounds, against the real dev
 * server: its id, status, attempt record, callbacks and event stream stay whole across the runs, and
 * no run's history grows with the number of redrives (nor carries the body more than its rounds do).
 */
import { ROUNDS_PER_RUN } from '../../src/workflows/deliver-message';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';
import { recordHistory } from '../helpers/histories';

let fixture: HeraldFixture;

beforeAll(async () => {
  fixture = await startFixture({ api: true });
}, 60_000);

afterAll(() => fixture?.close());

const REDRIVES = 2 * ROUNDS_PER_RUN + 5;
const MARKER = 'body-marker-continued-7c1e';

test(`a message redriven ${REDRIVES} times is one message across its runs`, async () => {
  const { api, herald, downstream } = fixture;
  downstream.script('/refuses', [{ status: 400, body: 'no' }]);
  downstream.handle('/outcome', () => ({ status: 200 }));
  const id = uniqueId('redriven');
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/refuses') },
      body: { marker: MARKER },
      callback: { url: downstream.url('/outcome') },
    },
  });
  expect(sent.status).toBe(202);

  for (let round = 1; round <= REDRIVES; round++) {
    await herald.waitFor(
      id,
      (status) => status.state === 'dead_lettered' && status.deadLetter?.round === round,
      30_000,
    );
    if (round === REDRIVES) downstream.script('/refuses', [{ status: 200, body: 'at last' }]);
    const redriven = await api.call('POST', `/v1/dead-letters/${id}/redrive`);
    expect(redriven.status).toBe(200);
  }
  const final = await herald.waitForState(id, 'delivered', 30_000);

  // One status across the runs: every attempt of every round, every redrive, the first run's creation time.
  expect(final.redrives).toBe(REDRIVES);
  expect(final.attempts.map((attempt) => attempt.round)).toEqual(Array.from({ length: REDRIVES + 1 }, (_, i) => i + 1));
  expect(final.attempts.at(-1)?.outcome).toBe('delivered');
  expect(Date.parse(final.createdAt)).toBeLessThan(Date.parse(final.attempts[0]!.startedAt));
  const served = await api.call<{ state: string; redrives: number }>('GET', `/v1/messages/${id}`);
  expect(served.body).toMatchObject({ state: 'delivered', redrives: REDRIVES });

  // Runs: ROUNDS_PER_RUN rounds each, the earlier ones continued as new. Visibility shows the last run's
  // close a moment after the status says delivered (a loaded clean-clone run listed it still running).
  const expectedRuns = Math.ceil((REDRIVES + 1) / ROUNDS_PER_RUN);
  const listRuns = async () => {
    const found: { runId: string; status: string }[] = [];
    for await (const execution of herald.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      found.push({ runId: execution.runId, status: execution.status.name });
    }
    return found;
  };
  const runs = await eventually(listRuns, {
    until: (found) => found.length === expectedRuns && found.some((run) => run.status === 'COMPLETED'),
    timeoutMs: 10_000,
    what: 'every run in visibility, the last one closed',
  });
  expect(runs).toHaveLength(expectedRuns);
  expect(runs.filter((run) => run.status === 'CONTINUED_AS_NEW')).toHaveLength(expectedRuns - 1);
  expect(runs.filter((run) => run.status === 'COMPLETED')).toHaveLength(1);

  // No run's history grows with the redrives: each holds at most ROUNDS_PER_RUN rounds, and the body
  // in the run's input and its rounds' activity inputs only.
  const lengths: number[] = [];
  for (const run of runs) {
    const history = await herald.client.workflow.getHandle(id, run.runId).fetchHistory();
    const events = history.events ?? [];
    // About 45 events a round (delivery, attempt signal, dead letter, redrive update, upserts, event publishing).
    lengths.push(events.length);
    expect(events.length).toBeLessThan(ROUNDS_PER_RUN * 50 + 50);
    const text = JSON.stringify(events, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value,
    );
    const bodies = text.split(MARKER).length - 1;
    expect(bodies).toBeLessThanOrEqual(2 * ROUNDS_PER_RUN + 1);
  }

  // For the replay suite: a run that continued as new, and the run that went on from it.
  const [last, ...earlier] = runs;
  await recordHistory(herald.client, id, 'continued-as-new-first-run', earlier.at(-1)!.runId);
  await recordHistory(herald.client, id, 'continued-as-new-last-run', last!.runId);
  console.log(`${REDRIVES} redrives in ${runs.length} runs of ${lengths.join(', ')} history events`);

  // The event stream reads as one message: accepted once, then each round's states, delivered last.
  // Its last event is recorded from the last run's committed close, a moment after the status says so.
  const events = await eventually(() => herald.events.read({ afterId: 0, messageId: id, limit: 1000 }), {
    until: (read) => read.at(-1)?.state === 'delivered',
    what: 'the delivered event',
  });
  const states = events.map((event) => event.state);
  expect(states.filter((state) => state === 'accepted')).toHaveLength(1);
  expect(states.filter((state) => state === 'dead_lettered')).toHaveLength(REDRIVES);
  expect(states.at(-1)).toBe('delivered');

  // The callback the message was sent with came once, at the outcome, from the last run.
  await eventually(() => downstream.requests('/outcome').length > 0, { what: 'the outcome callback' });
  const outcomes = downstream.requests('/outcome').map((request) => JSON.parse(request.body) as { type: string });
  expect(outcomes.filter((outcome) => outcome.type === 'message.delivered')).toHaveLength(1);
}, 180_000);

/**
 * A worker whose sticky cache is smaller than the number of parked messages: the messages it evicted
 * replay their history when their reply comes, and every reply still ends its message `replied`.
 */
import type { MessageStatus } from '../../src/contract/message-status';
import { signedReply, type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { startFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';
import type { RunningWorker } from '../../src/runtime/resources';

const CACHE = 2;
const PARKED = 6;

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
let worker: RunningWorker;

beforeAll(async () => {
  const fixture = await startFixture({ api: true, env: { HERALD_WORKER_CACHED_WORKFLOWS: String(CACHE) } });
  ({ herald, api, downstream } = fixture);
  worker = fixture.worker!;
});

test(`${PARKED} parked messages on a cache of ${CACHE}: each reply replays what was evicted and ends replied`, async () => {
  expect(herald.config.worker).toMatchObject({
    cachedWorkflows: CACHE,
    cachedWorkflowsFrom: 'HERALD_WORKER_CACHED_WORKFLOWS',
  });
  const ids: string[] = [];
  for (let n = 0; n < PARKED; n++) {
    const id = uniqueId('evicted');
    downstream.script(`/${id}`, [{ status: 200 }]);
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: downstream.url(`/${id}`) }, body: { n }, reply: { timeout: '10m' } },
    });
    expect(sent.status).toBe(202);
    await herald.waitForState(id, 'awaiting_reply');
    ids.push(id);
  }
  // The worker holds no more than its cache: the others were evicted, with their state only in Temporal.
  expect(worker.worker.getStatus().numCachedWorkflows).toBeLessThanOrEqual(CACHE);

  // Oldest first: each of these was evicted by the ones parked after it.
  for (const [n, id] of ids.entries()) {
    const replied = await api.call<MessageStatus>('POST', `/v1/messages/${id}/reply`, signedReply(id, { body: { n } }));
    expect([200, 202]).toContain(replied.status);
    const status = await herald.waitForState(id, 'replied');
    expect(status.reply).toMatchObject({ body: { n }, webhookId: id });
    expect(status.attempts).toHaveLength(1);
  }
  expect(worker.worker.getStatus().numCachedWorkflows).toBeLessThanOrEqual(CACHE);
});

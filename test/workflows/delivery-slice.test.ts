/** The first slice end to end: a message becomes a deliverMessage workflow that POSTs it downstream. */
import { MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
});

test('delivers the exact body and headers to the destination', async () => {
  const id = uniqueId('msg');
  const body = { orderId: 42, items: ['a', 'b'], note: 'ünïcødé' };
  const started = await herald.send({
    id,
    destination: {
      url: downstream.url('/orders'),
      headers: { 'X-Tenant': 'acme', Authorization: 'Bearer sender-token' },
    },
    body,
  });
  expect(started).toEqual({ id, existing: false, state: 'accepted' });

  const status = await herald.waitForState(id, 'delivered');
  const [request, ...others] = downstream.requests('/orders');
  expect(others).toHaveLength(0);
  expect(request?.method).toBe('POST');
  expect(request?.body).toBe(JSON.stringify(body));
  expect(request?.headers).toMatchObject({
    'content-type': 'application/json',
    'x-tenant': 'acme',
    authorization: 'Bearer sender-token',
    'idempotency-key': id,
    'webhook-id': `${id}.delivery`,
  });
  expect(status.attempts).toEqual([
    expect.objectContaining({ round: 1, attempt: 1, outcome: 'delivered', status: 200, responseExcerpt: 'ok' }),
  ]);

  const result = await herald.client.workflow.getHandle(id).result();
  expect(result.state).toBe('delivered');
  const description = await herald.client.workflow.getHandle(id).describe();
  expect(description.type).toBe(MESSAGE_WORKFLOW);
  expect(description.taskQueue).toBe(herald.taskQueue);
});

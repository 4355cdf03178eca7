/**
 * The in-flight limit's bookkeeping (pure logic; Temporal's count is a stand-in answering what the test
 * says visibility shows): slots are taken before a send starts, so a concurrent burst cannot pass
 * together; this host's own accepts count until visibility can be trusted to hold them; a release gives
 * a slot back; a resend is never refused. The real count is exercised in test/security/key-limits.test.ts.
 */
import type { Client } from '@temporalio/client';
import { createInFlightLimit, inFlightQuery } from '../../src/api/key-limits';
import { ProblemError } from '../../src/api/problem';

function limitWith(max: number) {
  let visible = 0;
  let clock = 1_000_000;
  const queries: string[] = [];
  const client = {
    workflowService: {
      countWorkflowExecutions: async ({ query }: { query: string }) => {
        queries.push(query);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { count: visible };
      },
    },
  } as unknown as Client;
  const limit = createInFlightLimit({ client, namespace: 'default', max, now: () => clock });
  return {
    limit,
    queries,
    show: (count: number) => (visible = count),
    advance: (ms: number) => (clock += ms),
  };
}

const notResend = async () => false;
const refusedOrTaken = (reserve: Promise<unknown>) =>
  reserve.then(
    () => 'taken',
    (error: unknown) => (error instanceof ProblemError ? (error.extensions.reason as string) : 'error'),
  );

test('a concurrent burst of one key gets exactly the free slots', async () => {
  const { limit, queries } = limitWith(2);
  const results = await Promise.all(Array.from({ length: 10 }, () => refusedOrTaken(limit.reserve('shop', notResend))));
  expect(results.filter((r) => r === 'taken')).toHaveLength(2);
  expect(results.filter((r) => r === 'key-in-flight')).toHaveLength(8);
  // One count for the whole burst.
  expect(queries).toEqual([inFlightQuery('shop')]);
});

test('a released slot is free again; another key has its own', async () => {
  const { limit } = limitWith(1);
  const release = await limit.reserve('shop', notResend);
  await expect(refusedOrTaken(limit.reserve('shop', notResend))).resolves.toBe('key-in-flight');
  await expect(refusedOrTaken(limit.reserve('other', notResend))).resolves.toBe('taken');
  release();
  await expect(refusedOrTaken(limit.reserve('shop', notResend))).resolves.toBe('taken');
});

test('this host’s accepts count after a refresh that visibility does not show yet, and stop counting later', async () => {
  const { limit, show, advance } = limitWith(2);
  await limit.reserve('shop', notResend);
  await limit.reserve('shop', notResend);
  // A second later the count is read again; visibility does not show the two yet.
  advance(1_100);
  show(0);
  await expect(refusedOrTaken(limit.reserve('shop', notResend))).resolves.toBe('key-in-flight');
  // Long after, visibility is trusted: it says both settled.
  advance(5_000);
  await expect(refusedOrTaken(limit.reserve('shop', notResend))).resolves.toBe('taken');
});

test('a resend is never refused, and visibility’s count is what a fleet shares', async () => {
  const { limit, show } = limitWith(3);
  show(3);
  await expect(refusedOrTaken(limit.reserve('shop', notResend))).resolves.toBe('key-in-flight');
  await expect(refusedOrTaken(limit.reserve('shop', async () => true))).resolves.toBe('taken');
  const refused = await limit.reserve('shop', notResend).catch((error: unknown) => error);
  expect(refused).toMatchObject({
    kind: 'rate-limited',
    retryAfterSeconds: 2,
    detail: 'API key "shop" has 4 messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY 3); retry after 2 s',
  });
});

test('the count asks visibility for the key’s running messages in an unsettled state', () => {
  expect(inFlightQuery('shop')).toBe(
    "WorkflowType IN ('heraldMessage', 'deliverMessage') AND HeraldSender = 'shop' AND ExecutionStatus = 'Running' AND HeraldState IN ('accepted', 'delivering', 'paused', 'awaiting_reply')",
  );
});

/** The wake against the real dev server: a deliver activity waiting 60 s for its retry runs again within 2 s. */
import { Client, Connection } from '@temporalio/client';
import { Worker, NativeConnection } from '@temporalio/worker';
import { HERALD_DESTINATION, HERALD_STATE } from '../../src/contract/search-attributes';
import { wakeDestination, wakeQuery } from '../../src/temporal/destination-wake';
import { eventually } from '../helpers/eventually';
import { uniqueId } from '../helpers/herald';

jest.setTimeout(120_000);

test('a woken deliver activity runs its next attempt at once, attempt count kept', async () => {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS!;
  const namespace = process.env.HERALD_TEST_NAMESPACE ?? 'default';
  const taskQueue = uniqueId('wake');
  const host = `${uniqueId('wake').toLowerCase()}.example:8443`;
  const attempts: { attempt: number; at: number }[] = [];
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./wake-workflows'),
    activities: {
      deliver: async () => {
        const { Context } = await import('@temporalio/activity');
        attempts.push({ attempt: Context.current().info.attempt, at: Date.now() });
        throw new Error('downstream down');
      },
    },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  try {
    const workflowId = uniqueId('wake-msg');
    const other = uniqueId('wake-other');
    const start = (id: string, destination: string) =>
      client.workflow.start('heraldMessage', {
        taskQueue,
        workflowId: id,
        typedSearchAttributes: [
          { key: HERALD_STATE, value: 'delivering' },
          { key: HERALD_DESTINATION, value: destination },
        ],
      });
    await start(workflowId, host);
    await start(other, `other-${host}`);
    await eventually(() => attempts.length, { until: (n) => n >= 2, what: 'both first attempts', timeoutMs: 30_000 });
    // Visibility is eventually consistent: wait until the query sees the workflow.
    await eventually(() => client.workflowService.countWorkflowExecutions({ namespace, query: wakeQuery(host) }), {
      until: (answer) => Number(answer.count) === 1,
      what: 'visibility to list it',
      timeoutMs: 20_000,
    });
    const before = attempts.length;
    const wokenAt = Date.now();
    const result = await wakeDestination({ client, namespace, ratePerSecond: 50, identity: 'test' }, host);
    expect(result).toEqual({ matched: 1, woken: 1, skipped: 0, failed: 0 });
    await eventually(() => attempts.length, { until: (n) => n > before, what: 'the next attempt', timeoutMs: 2_000 });
    const next = attempts[before]!;
    expect(next.at - wokenAt).toBeLessThan(2_000);
    // Attempt count kept: the second attempt, not a fresh first one. The other destination was not woken.
    expect(next.attempt).toBe(2);
    expect(attempts).toHaveLength(before + 1);
    // A workflow that closed meanwhile is skipped, never an error.
    await client.workflow.getHandle(workflowId).terminate('test over');
    await client.workflow.getHandle(other).terminate('test over');
  } finally {
    worker.shutdown();
    await running;
    await nativeConnection.close();
    await connection.close();
  }
});

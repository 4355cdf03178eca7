/**
 * The baseline's worker process: bareDeliver and its activity on BENCH_TASK_QUEUE against
 * TEMPORAL_ADDRESS (namespace TEMPORAL_NAMESPACE), with the SDK's default worker options, until SIGTERM (the SDK's
 * runtime stops the worker on it).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { post } from './activities';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('TEMPORAL_ADDRESS and BENCH_TASK_QUEUE are required');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: { post },
  });
  console.log('bare worker started');
  await worker.run();
  await connection.close();
}

// Exit explicitly: the SDK's native runtime keeps threads alive after everything is closed.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

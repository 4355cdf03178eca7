/** Stops the dev server the global setup started; jest runs this even when tests fail. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __heraldTemporal?: TestWorkflowEnvironment }).__heraldTemporal;
  if (env) {
    await env.teardown();
    console.log('[herald tests] Temporal dev server stopped');
  }
}

/** A tiny message-like workflow for the wake test: named as Herald's, one `deliver` activity retried every 60 s. */
import { proxyActivities } from '@temporalio/workflow';

const { deliver } = proxyActivities<{ deliver(): Promise<void> }>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '60s', backoffCoefficient: 1, maximumAttempts: 5 },
});

/** Same type name as Herald's message workflow, so the wake's visibility query finds it. */
export async function heraldMessage(): Promise<void> {
  await deliver();
}

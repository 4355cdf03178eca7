/**
 * The benchmark's baseline: the least a Temporal workflow can do to deliver one message, a single
 * activity that POSTs it, with the SDK's default retry policy. Herald's deliverMessage is measured
 * against it (bench/delivery-throughput.ts).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities, BareMessage } from './activities';

const { post } = proxyActivities<BareActivities>({ startToCloseTimeout: '30s' });

/** Delivers one message with one activity; no state, no queries, no search attributes. */
export async function bareDeliver(message: BareMessage): Promise<void> {
  await post(message);
}

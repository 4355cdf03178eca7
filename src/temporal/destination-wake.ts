/**
 * Waking messages so a destination change applies at once: a message waiting out a retry backoff
 * (state delivering) or held (paused) would otherwise sleep until its current timer ends, which after
 * a long outage can be minutes. Pausing then unpausing its `deliver` activity (Temporal ≥ 1.28 activity
 * operations) reschedules the pending attempt now, keeping its attempt count and heartbeat details;
 * the activity then applies the live settings itself (it waits again if its attempt is not due yet).
 */
import type { Client } from '@temporalio/client';
import { MESSAGE_WORKFLOW_CLAUSE } from '../contract/definitions';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';
import { isTransient, temporalFailureKind } from './temporal-errors';

/** The activity type of a message's delivery attempts. */
const DELIVER_ACTIVITY = 'deliver';
/** States in which a message has a `deliver` activity that may be waiting. */
const WAKEABLE_STATES = ['delivering', 'paused'] as const;
const PAGE_SIZE = 500;

export interface WakeDeps {
  client: Client;
  namespace: string;
  /** Workflows per second (HERALD_WAKE_RATE). */
  ratePerSecond: number;
  /** Who asks, as Temporal records it. */
  identity: string;
}

export interface WakeResult {
  /** Workflows the visibility query matched. */
  matched: number;
  woken: number;
  /** Workflows that had closed meanwhile or had no pending deliver activity: nothing to wake. */
  skipped: number;
  /** Other failures (Temporal unavailable, …). */
  failed: number;
}

/** A visibility string literal. Hosts are schema-checked already; escaping keeps any value inside the quotes. */
function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The visibility query of running messages to wake: of one destination, or all (`host` undefined). */
export function wakeQuery(host: string | undefined): string {
  const states = WAKEABLE_STATES.map((state) => quoted(state)).join(', ');
  const clauses = [MESSAGE_WORKFLOW_CLAUSE, `ExecutionStatus = 'Running'`, `${HERALD_STATE.name} IN (${states})`];
  if (host !== undefined) clauses.push(`${HERALD_DESTINATION.name} = ${quoted(host)}`);
  return clauses.join(' AND ');
}

/**
 * How many running messages of `host` are in `state` (CountWorkflowExecutions, one call).
 */
export async function countRunning(client: Client, namespace: string, host: string, state: string): Promise<number> {
  const query = [
    MESSAGE_WORKFLOW_CLAUSE,
    `${HERALD_DESTINATION.name} = ${quoted(host)}`,
    `ExecutionStatus = 'Running'`,
    `${HERALD_STATE.name} = ${quoted(state)}`,
  ].join(' AND ');
  const answer = await client.workflowService.countWorkflowExecutions({ namespace, query });
  return Number(answer.count ?? 0);
}

/** Makes one workflow's pending deliver activity run its next attempt now. */
async function wakeOne(deps: WakeDeps, workflowId: string): Promise<void> {
  const request = {
    namespace: deps.namespace,
    execution: { workflowId },
    identity: deps.identity,
    type: DELIVER_ACTIVITY,
  };
  await deps.client.workflowService.pauseActivity({ ...request, reason: 'destination changed: wake' });
  await deps.client.workflowService.unpauseActivity(request);
}

/**
 * Wakes every running message of `host` (or of every destination) in a wakeable state, paced at
 * `ratePerSecond`. Never throws for one workflow: a closed run, or one whose activity is not pending,
 * is skipped and counted. Throws only when visibility cannot be listed.
 */
export async function wakeDestination(deps: WakeDeps, host: string | undefined): Promise<WakeResult> {
  const result: WakeResult = { matched: 0, woken: 0, skipped: 0, failed: 0 };
  const interval = 1000 / deps.ratePerSecond;
  const query = wakeQuery(host);
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await deps.client.workflowService.listWorkflowExecutions({
      namespace: deps.namespace,
      query,
      pageSize: PAGE_SIZE,
      nextPageToken,
    });
    for (const execution of page.executions ?? []) {
      const workflowId = execution.execution?.workflowId;
      if (!workflowId) continue;
      result.matched += 1;
      const startedAt = Date.now();
      try {
        await wakeOne(deps, workflowId);
        result.woken += 1;
      } catch (error) {
        // NOT_FOUND: the run closed meanwhile, or its activity is no longer pending (it completed);
        // FAILED_PRECONDITION (not transient) likewise: nothing is waiting to be woken.
        if (!isTransient(error) && (temporalFailureKind(error) === 'not-found' || isPrecondition(error))) {
          result.skipped += 1;
        } else {
          result.failed += 1;
        }
      }
      const wait = interval - (Date.now() - startedAt);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return result;
}

/** gRPC FAILED_PRECONDITION (9): e.g. "workflow execution already completed". */
function isPrecondition(error: unknown): boolean {
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).code ??
    (error as { cause?: { code?: unknown } }).cause?.code;
  return code === 9;
}

/**
 * Runs that Temporal ended without the workflow's say: terminated by an operator, or past an execution
 * timeout. Such a run cannot report its end itself (its query answers the last state it had, its
 * search attribute and the event log stay where it left them), so Herald reads the end from the
 * execution and closes the other views out (store/ended-run-events).
 */
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { MESSAGE_WORKFLOW_CLAUSE } from '../contract/definitions';
import type { EndedRun } from '../contract/message-event';
import { isTerminal, type MessageState } from '../contract/message-status';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';

export type { EndedRun };

/** The Herald state of an execution Temporal ended; undefined for any other execution status. */
export function endedRunState(executionStatus: string): EndedRun['state'] | undefined {
  if (executionStatus === 'TERMINATED') return 'terminated';
  if (executionStatus === 'TIMED_OUT') return 'timed_out';
  return undefined;
}

/** The ended run an execution is, if Temporal ended it. */
export function endedRunOf(execution: WorkflowExecutionInfo | WorkflowExecutionDescription): EndedRun | undefined {
  const state = endedRunState(execution.status.name);
  return state ? runOf(execution, state) : undefined;
}

/** A closed execution as the run that reached `state`, stamped with its close time. */
function runOf(execution: WorkflowExecutionInfo | WorkflowExecutionDescription, state: MessageState): EndedRun {
  const sender = execution.memo?.sender;
  return {
    messageId: execution.workflowId,
    runId: execution.runId,
    state,
    closedAt: (execution.closeTime ?? new Date()).toISOString(),
    destination: execution.typedSearchAttributes.get(HERALD_DESTINATION) ?? '',
    sender: typeof sender === 'string' ? sender : null,
  };
}

/**
 * Message runs Temporal ended since `since` on `taskQueue`, from visibility (eventually consistent:
 * overlap the windows). Only this Herald's task queue: another Herald sharing the namespace has its own log.
 */
export async function* listEndedRuns(client: Client, taskQueue: string, since: Date): AsyncIterable<EndedRun> {
  const query =
    `${MESSAGE_WORKFLOW_CLAUSE} AND TaskQueue = '${taskQueue}' AND ` +
    `(ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut') AND CloseTime >= '${since.toISOString()}'`;
  for await (const execution of client.workflow.list({ query })) {
    const run = endedRunOf(execution);
    if (run) yield run;
  }
}

/**
 * The run a completed execution was, for a lean run whose last event may be missing (the worker that
 * closed it died first): its state is the search attribute its closing task set, in the same commit.
 */
export function completedRunOf(execution: WorkflowExecutionInfo): EndedRun | undefined {
  if (execution.status.name !== 'COMPLETED') return undefined;
  const state = execution.typedSearchAttributes.get(HERALD_STATE) as MessageState | undefined;
  return state !== undefined && isTerminal(state) ? runOf(execution, state) : undefined;
}

/** Message runs that completed since `since` on `taskQueue`, from visibility. */
export async function* listCompletedRuns(client: Client, taskQueue: string, since: Date): AsyncIterable<EndedRun> {
  const query =
    `${MESSAGE_WORKFLOW_CLAUSE} AND TaskQueue = '${taskQueue}' AND ` +
    `ExecutionStatus = 'Completed' AND CloseTime >= '${since.toISOString()}'`;
  for await (const execution of client.workflow.list({ query })) {
    const run = completedRunOf(execution);
    if (run) yield run;
  }
}

/** A run looked up by id once it closed: `run` is its lean end when it completed with one, null when it closed otherwise. */
export interface ClosedRun {
  runId: string;
  run: EndedRun | null;
}

/** Which of these runs have closed, from visibility (a run not listed is still open, or not visible yet). */
export async function* listClosedRuns(client: Client, runIds: string[]): AsyncIterable<ClosedRun> {
  if (runIds.length === 0) return;
  const ids = runIds.map((runId) => `'${runId.replace(/'/g, '')}'`).join(', ');
  const query = `RunId IN (${ids}) AND ExecutionStatus != 'Running'`;
  for await (const execution of client.workflow.list({ query })) {
    yield { runId: execution.runId, run: completedRunOf(execution) ?? null };
  }
}

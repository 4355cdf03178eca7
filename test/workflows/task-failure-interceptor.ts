/**
 * For committed-events.test.ts only (bundled into a test worker's workflows): makes workflow tasks
 * fail the way a worker killed mid-task does, around the moment a message decides to await its reply.
 * The reply signal ends it, so a retried task can take the reply in the same task as the delivery's
 * result and go from delivering straight to replied: the scenario.
 *
 * By workflow id prefix:
 * - `fail-at-`: the activation that decides `awaiting_reply` fails at its end, after its commands are
 *   made: neither the decision nor anything it asked for is committed.
 * - `fail-after-`: that activation goes on, and every later one fails, after whatever the first asked
 *   for has run (a local activity runs before its task commits: the old publishing's orphan).
 */
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { coresdk } from '@temporalio/proto';

/** Whether the commands set HeraldState to awaiting_reply (payload data is the JSON string). */
function decidesAwaitingReply(commands: coresdk.workflow_commands.IWorkflowCommand[]): boolean {
  return commands.some((command) => {
    const data = command.upsertWorkflowSearchAttributes?.searchAttributes?.indexedFields?.HeraldState?.data;
    return data ? String.fromCharCode(...data) === '"awaiting_reply"' : false;
  });
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  // One closure per workflow instance: a failed task evicts it, and the replay starts afresh.
  const { workflowId } = workflowInfo();
  const mode = workflowId.startsWith('fail-at-') ? 'at' : workflowId.startsWith('fail-after-') ? 'after' : undefined;
  let decided = false;
  let replied = false;
  return {
    internals: [
      {
        activate(input, next) {
          if (input.activation.jobs?.some((job) => job.signalWorkflow?.signalName === 'reply')) replied = true;
          next(input);
        },
        concludeActivation(input, next) {
          const decidedEarlier = decided;
          const decidesNow = decidesAwaitingReply(input.commands);
          decided ||= decidesNow;
          const live = mode !== undefined && !replied && !workflowInfo().unsafe.isReplaying;
          if (live && ((mode === 'at' && decidesNow) || (mode === 'after' && decidedEarlier))) {
            throw new Error(`simulated worker crash (${mode} awaiting_reply)`);
          }
          return next(input);
        },
      },
    ],
  };
};

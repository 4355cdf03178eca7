/**
 * How Herald's workflows are bundled for the worker (and for the tests, which bundle once per run).
 *
 * With a reusable V8 context (the SDK's default), every workflow runs the module scope of each module
 * it imports again, so that no state leaks from one workflow to the next. For Herald's message
 * contract that cost was most of a workflow's own CPU: TypeBox's few hundred modules and the message
 * schema were built anew for every message (about 3 ms each on 2 cores). The SDK's `preloadModules`
 * runs a module once per worker thread and shares it, deep-frozen, between workflows; that is safe
 * only for modules that hold no state of a workflow and call nothing of `@temporalio/workflow` at load:
 * the pure contract modules below and TypeBox itself. Preloading moves no command and no history
 * event, so recorded histories replay the same (test/replay). test/runtime/workflow-bundle.test.ts
 * checks that every preloaded module imports only preloaded or stateless modules.
 */
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';

/** Modules shared by every workflow of a worker thread: pure, stateless, no `@temporalio/workflow`. */
export const PRELOADED_WORKFLOW_MODULES: readonly string[] = [
  '@sinclair/typebox',
  '@sinclair/typebox/value',
  require.resolve('../contract/blob-ref'),
  require.resolve('../contract/callback'),
  require.resolve('../contract/duration'),
  require.resolve('../contract/error-types'),
  require.resolve('../contract/field-error'),
  require.resolve('../contract/header-rules'),
  require.resolve('../contract/message'),
  require.resolve('../contract/message-status'),
  require.resolve('../contract/reply'),
  require.resolve('../contract/search-attributes'),
  require.resolve('../contract/url-rules'),
  require.resolve('../retry/attempt-budget'),
  require.resolve('../retry/delivery-plan'),
];

/**
 * The workflow interceptors of tracing (workflows/tracing-interceptors.ts: a span for the run and each
 * signal, the trace context into each activity's headers), bundled only when tracing is on: off, the
 * bundle is what it was, with no span made in the sandbox. They add no command, no history event and
 * no microtask hop before a command, so a history recorded with tracing off replays with it on
 * (test/replay replays every recorded history with this bundle too) and the other way round.
 */
export const TRACING_WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [
  require.resolve('../workflows/tracing-interceptors'),
];

export type BundleLogger = NonNullable<BundleOptions['logger']>;

/** Bundles src/workflows with the shared modules preloaded; `extra` adds options (a test's interceptors). */
export async function bundleHeraldWorkflows(
  logger: BundleLogger,
  extra: Omit<BundleOptions, 'workflowsPath' | 'logger' | 'preloadModules'> = {},
): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({
    ...extra,
    workflowsPath: require.resolve('../workflows'),
    preloadModules: [...PRELOADED_WORKFLOW_MODULES],
    logger,
  });
  return { code };
}

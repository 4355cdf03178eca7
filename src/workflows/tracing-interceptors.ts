/**
 * The workflow interceptors bundled when tracing is on (see runtime/workflow-bundle.ts): OpenTelemetry's
 * inbound one (a span for the run and for each signal, continuing the StartWorkflow span from the
 * headers), and an outbound one of Herald's own that puts the current trace context into the headers
 * of every activity, local activity and child workflow it starts, and does nothing else.
 *
 * Not OpenTelemetry's outbound interceptor: it wraps each scheduleActivity in an async span, which
 * resolves the activity's result a few microtask hops later. Herald's workflows order commands by
 * those hops (see deliver-message.ts), so a history recorded without it did not replay with it (a
 * failed-task run in test/replay). Injecting the headers synchronously adds no hop and no command:
 * activity attempts are children of the workflow's span, with no StartActivity span between.
 */
// The sandbox side of the package, as its own workflow-interceptors module imports it: the package's
// index also loads its worker and client sides. headersWithContext writes the header its inbound
// interceptors read, so the format is the package's, not a copy of it.
// eslint-disable-next-line no-restricted-syntax
import { headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
// eslint-disable-next-line no-restricted-syntax
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptors, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';

/** Trace context into the headers of what the workflow starts, synchronously. */
const propagateContext: WorkflowOutboundCallsInterceptor = {
  scheduleActivity: (input, next) => next({ ...input, headers: headersWithContext(input.headers) }),
  scheduleLocalActivity: (input, next) => next({ ...input, headers: headersWithContext(input.headers) }),
  startChildWorkflowExecution: (input, next) => next({ ...input, headers: headersWithContext(input.headers) }),
  signalWorkflow: (input, next) => next({ ...input, headers: headersWithContext(input.headers) }),
};

/** The workflow interceptors with tracing on (the SDK calls this once per workflow). */
export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [propagateContext],
  internals: [new OpenTelemetryInternalsInterceptor()],
});

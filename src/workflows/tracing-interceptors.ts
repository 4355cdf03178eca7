/**
 * The workflow interceptors bundled when tracing is on (see runtime/workflow-bundle.ts): a span for the
 * run (`RunWorkflow:<type>`, a child of the StartWorkflow span whose context came in the start headers)
 * and one for each signal and update (`HandleSignal:<name>`, `HandleUpdate:<name>`), and the run's trace
 * context in the headers of every activity, local activity, child workflow and signal it starts, where
 * OpenTelemetry's worker-side activity interceptor continues it.
 *
 * Why not OpenTelemetry's own workflow interceptors. They run OpenTelemetry's SDK inside the sandbox:
 * with the reusable V8 context every workflow evaluates `@opentelemetry/sdk-trace-base`, its resources
 * and semantic conventions again and builds and registers a tracer provider, which a CPU profile of the
 * benchmark showed as about 10 ms of the workflow thread per message (a third more than with tracing off),
 * most of what observing Herald cost. And their outbound interceptor wraps each activity start in an async
 * span, which moves the microtask hops Herald's workflow orders its commands by (a recorded history did
 * not replay with it). A span here is a plain object: its ids derive from the run id (trace-context.ts),
 * its times are the workflow's clock, and it leaves the sandbox, once ended, through the same sink and
 * in the same shape as OpenTelemetry's (`exporter`, made by its `makeWorkflowExporter` on the worker
 * side, see runtime/herald-worker.ts). Nothing here awaits: each handler's own promise is returned as it
 * is, so the interceptors add no command, no history event and no microtask hop, and a history recorded
 * with tracing on replays with it off and the other way round (test/replay replays every recorded
 * history with both bundles).
 */
import type { OpenTelemetrySinks, SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import {
  ApplicationFailure,
  ContinueAsNew,
  defaultPayloadConverter,
  proxySinks,
  workflowInfo,
  type Headers,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import {
  derivedSpanId,
  derivedTraceId,
  formatTraceParent,
  isSampled,
  parseTraceParent,
  type TraceParent,
} from './trace-context';

/** The header OpenTelemetry's Temporal interceptors carry the trace context in (a JSON text map). */
const TRACE_HEADER = '_tracer-data';
/** Span kind INTERNAL and status codes OK and ERROR, as @opentelemetry/api numbers them. */
const INTERNAL = 0;
const OK = 1;
const ERROR = 2;
const INSTRUMENTATION = { name: '@temporalio/interceptor-workflow' };

interface TextMap {
  traceparent?: string;
  tracestate?: string;
}

/** A span being recorded: what it ends with is filled in by `end`. */
interface OpenSpan {
  name: string;
  context: TraceParent;
  traceState?: string;
  parentSpanId?: string;
  startMs: number;
}

/** This run's state: its span's context (what started work is parented to) and the spans made so far. */
let run: { span: OpenSpan; headerPayload: Headers[string]; spans: number } | undefined;

function textMapOf(headers: Headers): TextMap {
  const payload = headers[TRACE_HEADER];
  if (payload === undefined) return {};
  try {
    const map = defaultPayloadConverter.fromPayload<unknown>(payload);
    return typeof map === 'object' && map !== null ? (map as TextMap) : {};
  } catch {
    return {};
  }
}

/** A new span under the context in `headers`, or under `fallback` when they carry none. */
function openSpan(name: string, headers: Headers, fallback: OpenSpan | undefined): OpenSpan {
  const info = workflowInfo();
  const map = textMapOf(headers);
  const parent = parseTraceParent(map.traceparent);
  const n = run ? ++run.spans : 0;
  const spanId = derivedSpanId(info.runId, n);
  if (parent) {
    return {
      name,
      context: { traceId: parent.traceId, spanId, flags: parent.flags },
      traceState: map.tracestate,
      parentSpanId: parent.spanId,
      startMs: Date.now(),
    };
  }
  if (fallback) {
    return {
      name,
      context: { ...fallback.context, spanId },
      traceState: fallback.traceState,
      parentSpanId: fallback.context.spanId,
      startMs: Date.now(),
    };
  }
  // Started with no trace context (the Temporal CLI, a client without the interceptor): a trace of its own.
  return { name, context: { traceId: derivedTraceId(info.runId), spanId, flags: '01' }, startMs: Date.now() };
}

function hrTime(ms: number): [number, number] {
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

function endSpan(span: OpenSpan, error?: unknown): void {
  if (!isSampled(span.context.flags)) return;
  const endMs = Date.now();
  const failed =
    error !== undefined &&
    !(error instanceof ContinueAsNew) &&
    !(error instanceof ApplicationFailure && error.category === 'BENIGN');
  const message = error instanceof Error ? error.message : error === undefined ? undefined : String(error);
  const serializable: SerializableSpan = {
    name: span.name,
    kind: INTERNAL,
    spanContext: {
      traceId: span.context.traceId,
      spanId: span.context.spanId,
      traceFlags: Number.parseInt(span.context.flags, 16),
      traceState: span.traceState,
    },
    parentSpanId: span.parentSpanId,
    startTime: hrTime(span.startMs),
    endTime: hrTime(endMs),
    duration: hrTime(endMs - span.startMs),
    status: failed ? { code: ERROR, message } : { code: OK },
    attributes: {},
    links: [],
    events: failed
      ? [
          {
            name: 'exception',
            time: hrTime(endMs),
            attributes: {
              'exception.type': error instanceof Error ? error.name : typeof error,
              'exception.message': message ?? '',
            },
          },
        ]
      : [],
    ended: true,
    droppedAttributesCount: 0,
    droppedLinksCount: 0,
    droppedEventsCount: 0,
    instrumentationLibrary: INSTRUMENTATION,
  };
  proxySinks<OpenTelemetrySinks>().exporter.export([serializable]);
}

/** Ends `span` when `result` settles, and hands back `result` itself: no hop is added to the handler. */
function tracedUntilSettled<T>(span: OpenSpan, result: Promise<T>): Promise<T> {
  result.then(
    () => endSpan(span),
    (error: unknown) => endSpan(span, error),
  );
  return result;
}

const traceInbound: WorkflowInboundCallsInterceptor = {
  execute: (input, next) => {
    const span = openSpan(`RunWorkflow:${workflowInfo().workflowType}`, input.headers, undefined);
    const textMap: TextMap = { traceparent: formatTraceParent(span.context), tracestate: span.traceState };
    run = { span, headerPayload: defaultPayloadConverter.toPayload(textMap), spans: 0 };
    return tracedUntilSettled(span, next(input));
  },
  handleSignal: (input, next) =>
    tracedUntilSettled(openSpan(`HandleSignal:${input.signalName}`, input.headers, run?.span), next(input)),
  handleUpdate: (input, next) =>
    tracedUntilSettled(openSpan(`HandleUpdate:${input.name}`, input.headers, run?.span), next(input)),
};

/** The run's trace context into the headers of what it starts (none before the run's span exists). */
function withContext(headers: Headers): Headers {
  return run ? { ...headers, [TRACE_HEADER]: run.headerPayload } : headers;
}

const propagateContext: WorkflowOutboundCallsInterceptor = {
  scheduleActivity: (input, next) => next({ ...input, headers: withContext(input.headers) }),
  scheduleLocalActivity: (input, next) => next({ ...input, headers: withContext(input.headers) }),
  startChildWorkflowExecution: (input, next) => next({ ...input, headers: withContext(input.headers) }),
  signalWorkflow: (input, next) => next({ ...input, headers: withContext(input.headers) }),
};

/** The workflow interceptors with tracing on (the SDK calls this once per workflow). */
export const interceptors = (): WorkflowInterceptors => ({
  inbound: [traceInbound],
  outbound: [propagateContext],
});

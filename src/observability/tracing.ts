/**
 * OpenTelemetry traces, on only when an OTLP endpoint is configured (config.tracing). One trace runs
 * from `POST /v1/messages` (a server span, observability/api-tracing.ts) through Temporal's interceptors
 * (the client's StartWorkflow, the workflow, each activity attempt) to the delivery request, which
 * carries its `traceparent` (activities/delivery.ts).
 *
 * No tracer provider is registered globally: each Herald role in a process (`npm start` runs both) has
 * its own provider and service name, and hands its tracer to the interceptors explicitly. Only the
 * context manager and the W3C propagator are process-wide (the interceptors read the global propagator),
 * registered once, on the first start; a process with tracing off registers nothing.
 */
import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/config';

export type { TracingConfig };

/** Where and as whom spans are exported (read from the standard OTEL_* variables in config/config.ts). */

/** The roles of a Herald process, each traced as its own service unless OTEL_SERVICE_NAME names one. */
export type TracedRole = 'api' | 'worker';

/** One role's tracing: its tracer, and the processor and resource the workflow span sink exports with. */
export interface Tracing {
  tracer: Tracer;
  processor: SpanProcessor;
  resource: Resource;
  /** Exports the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

let globalsRegistered = false;

function registerTracingGlobals(): void {
  if (globalsRegistered) return;
  globalsRegistered = true;
  // AsyncLocalStorage carries the active span across awaits: the activity span into the delivery
  // request, the API's server span into the StartWorkflow call.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** Starts tracing for one role, or answers undefined when no endpoint is configured (tracing off). */
export function startTracing(config: TracingConfig, role: TracedRole): Tracing | undefined {
  if (!config.tracesUrl) return undefined;
  registerTracingGlobals();
  const resource = new Resource({ 'service.name': config.serviceName ?? `herald-${role}` });
  // Batched: spans leave the process every few seconds (OTEL_BSP_* tune it), never in the request path.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  return {
    tracer: provider.getTracer('herald'),
    processor,
    resource,
    shutdown: () => provider.shutdown(),
  };
}

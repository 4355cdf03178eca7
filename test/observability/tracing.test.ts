/**
 * One trace from `POST /v1/messages` to the destination: a Herald with tracing on (API and worker, the
 * workflow bundle with the OpenTelemetry interceptors) exports OTLP/HTTP JSON to a receiver on
 * 127.0.0.1, against the real Temporal dev server and a real downstream that fails once.
 */
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { bundleHeraldWorkflows, TRACING_WORKFLOW_INTERCEPTOR_MODULES } from '../../src/runtime/workflow-bundle';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';

const SPAN_KIND = { SERVER: 2, CLIENT: 3 };
const quiet = () => undefined;

let receiver: OtlpReceiver;
let fixture: HeraldFixture;
let tracedBundle: { code: string };
const scheduleDelay = process.env.OTEL_BSP_SCHEDULE_DELAY;

beforeAll(async () => {
  // The SDK's batch processor reads its delay from the process environment: spans leave within 100 ms.
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  receiver = await startOtlpReceiver();
  tracedBundle = await bundleHeraldWorkflows(
    { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: console.warn, error: console.error },
    { workflowInterceptorModules: [...TRACING_WORKFLOW_INTERCEPTOR_MODULES] },
  );
  fixture = await startFixture({
    api: true,
    workflowBundle: tracedBundle,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
  });
}, 120_000);

afterAll(async () => {
  await fixture?.close();
  await receiver?.close();
  if (scheduleDelay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  else process.env.OTEL_BSP_SCHEDULE_DELAY = scheduleDelay;
});

/** `00-<trace id>-<parent span id>-<flags>` (W3C Trace Context). */
function parseTraceparent(value: unknown): { traceId: string; parentId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value));
  if (!match) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1]!, parentId: match[2]! };
}

const byId = (spans: ReceivedSpan[], id: string | undefined) => spans.find((span) => span.spanId === id);

test('the API span, StartWorkflow, the workflow, each attempt and its request are one trace; the destination gets its traceparent', async () => {
  const { downstream, api } = fixture;
  downstream.script('/traced', [{ status: 503 }, { status: 200 }]);
  const sent = await api.call<{ id: string }>('POST', '/v1/messages', {
    json: { destination: { url: downstream.url('/traced') }, body: { hello: 'trace' } },
  });
  expect(sent.status).toBe(202);
  await fixture.herald.waitForState(sent.body.id, 'delivered');

  const requests = downstream.requests('/traced');
  expect(requests).toHaveLength(2);
  const [first, second] = requests.map((request) => parseTraceparent(request.headers.traceparent));
  expect(second!.traceId).toBe(first!.traceId);
  const traceId = first!.traceId;

  // The workflow's span ends with the run: wait for the whole trace to arrive.
  const spans = await eventually(() => receiver.spans().filter((span) => span.traceId === traceId), {
    until: (found) => found.some((span) => span.name === 'RunWorkflow:heraldMessage'),
    what: () =>
      `the workflow span of trace ${traceId}; received ${JSON.stringify(receiver.spans().map((s) => s.name))}`,
  });
  const serverSpan = spans.find((span) => span.kind === SPAN_KIND.SERVER);
  expect(serverSpan).toMatchObject({
    service: 'herald-api',
    name: 'POST /v1/messages',
    parentSpanId: undefined,
    attributes: { 'http.route': '/v1/messages', 'http.response.status_code': 202 },
  });
  const start = spans.find((span) => span.name === 'StartWorkflow:heraldMessage');
  expect(start).toMatchObject({ service: 'herald-api', parentSpanId: serverSpan!.spanId });
  const run = spans.find((span) => span.name === 'RunWorkflow:heraldMessage');
  expect(run).toMatchObject({ service: 'herald-worker', parentSpanId: start!.spanId });

  // Each attempt is a RunActivity span under the workflow's span; its request a client span under it.
  for (const request of [first!, second!]) {
    const client = byId(spans, request.parentId);
    expect(client).toMatchObject({ service: 'herald-worker', name: 'POST', kind: SPAN_KIND.CLIENT });
    expect(byId(spans, client!.parentSpanId)).toMatchObject({
      name: 'RunActivity:deliver',
      parentSpanId: run!.spanId,
      attributes: { temporalWorkflowId: sent.body.id },
    });
  }
  expect(first!.parentId).not.toBe(second!.parentId);
  expect(byId(spans, first!.parentId)?.attributes['http.response.status_code']).toBe(503);
  expect(byId(spans, second!.parentId)?.attributes['http.response.status_code']).toBe(200);

  // Recorded with tracing on, the run replays with it off (the bundle without the interceptors) and on.
  const history = await fixture.herald.client.workflow.getHandle(sent.body.id).fetchHistory();
  const plain = { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! };
  for (const workflowBundle of [plain, tracedBundle]) {
    await Worker.runReplayHistory({ workflowBundle, replayName: 'traced run' }, history, sent.body.id);
  }
});

test("a signal is a span under its sender's context, or under the run's when it came with none", async () => {
  const { downstream, api } = fixture;
  const traced = fixture.herald.client; // the fixture's client traces: its signals carry their context
  const plain = new Client({ connection: traced.connection });
  for (const [path, client] of [
    ['/asks-traced', traced],
    ['/asks-plain', plain],
  ] as const) {
    const sent = await api.call<{ id: string }>('POST', '/v1/messages', {
      json: { destination: { url: downstream.url(path) }, body: {}, reply: { timeout: '1m' } },
    });
    expect(sent.status).toBe(202);
    await fixture.herald.waitForState(sent.body.id, 'awaiting_reply');
    await client.workflow.getHandle(sent.body.id).signal('reply', { body: { answer: 'yes' } });
    await fixture.herald.waitForState(sent.body.id, 'replied');
  }

  const runOf = async (path: string) => {
    const { traceId } = parseTraceparent(downstream.requests(path)[0]!.headers.traceparent);
    const spans = await eventually(() => receiver.spans().filter((span) => span.traceId === traceId), {
      until: (found) => found.some((span) => span.name === 'RunWorkflow:heraldMessage'),
      what: () => `the workflow span of trace ${traceId}`,
    });
    // Span ids derive from the run id: no two spans of a trace share one.
    expect(new Set(spans.map((span) => span.spanId)).size).toBe(spans.length);
    return spans.find((span) => span.name === 'RunWorkflow:heraldMessage')!;
  };
  const signalSpans = () => receiver.spans().filter((span) => span.name === 'HandleSignal:reply');

  const plainRun = await runOf('/asks-plain');
  expect(signalSpans().filter((span) => span.traceId === plainRun.traceId)).toEqual([
    expect.objectContaining({ service: 'herald-worker', parentSpanId: plainRun.spanId }),
  ]);
  const tracedRun = await runOf('/asks-traced');
  const sender = receiver.spans().find((span) => span.name === 'SignalWorkflow:reply');
  expect(sender).toBeDefined();
  expect(signalSpans().filter((span) => span.parentSpanId === sender!.spanId)).toEqual([
    expect.objectContaining({ service: 'herald-worker', traceId: sender!.traceId }),
  ]);
  expect(sender!.traceId).not.toBe(tracedRun.traceId);
});

test("a client's traceparent on POST /v1/messages continues its trace; a sender's traceparent header is sent as given", async () => {
  const { downstream, api } = fixture;
  const clientTrace = '0af7651916cd43dd8448eb211c80319c';
  const sendersOwn = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const sent = await api.call<{ id: string }>('POST', '/v1/messages', {
    headers: { traceparent: `00-${clientTrace}-b7ad6b7169203331-01` },
    json: { destination: { url: downstream.url('/own'), headers: { traceparent: sendersOwn } } },
  });
  expect(sent.status).toBe(202);
  await fixture.herald.waitForState(sent.body.id, 'delivered');
  expect(downstream.requests('/own').map((request) => request.headers.traceparent)).toEqual([sendersOwn]);
  const serverSpan = await eventually(
    () => receiver.spans().find((span) => span.traceId === clientTrace && span.kind === SPAN_KIND.SERVER),
    { until: (span) => span !== undefined, what: 'the API span of the client trace' },
  );
  expect(serverSpan).toMatchObject({ name: 'POST /v1/messages', parentSpanId: 'b7ad6b7169203331' });
});

test('probes are not traced', async () => {
  const before = receiver.spans().length;
  const health = await fixture.api.call('GET', '/healthz');
  expect(health.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(
    receiver
      .spans()
      .slice(before)
      .filter((span) => span.kind === SPAN_KIND.SERVER),
  ).toEqual([]);
});

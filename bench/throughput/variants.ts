/**
 * The things compared, each started once per server and run: `herald` (its real worker and API
 * processes, src/worker.ts and src/api-server.ts, configured by environment as an operator would),
 * `herald-observed` (the same with the worker's metrics port and tracing on, exporting OTLP to a sink
 * on 127.0.0.1 that counts and discards spans: what observing Herald costs), `herald-uncontrolled`
 * (HERALD_DESTINATION_CONTROL=off: what destination control costs when no destination has settings),
 * `herald-limited` (the downstream's destination limited to `rateLimit` attempts per second through
 * PUT /v1/destinations/{host}: what a limit attains and what its holds cost), `herald-encrypted`
 * (HERALD_ENCRYPTION_KEYS set, a key made for the run: what payload encryption costs), and `bare` (bench/bare/:
 * one workflow, one activity doing the same POST). Both expose `send`, which resolves
 * once the message is accepted (POST /v1/messages → 202, or client.workflow.start resolved).
 */
import { type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../scripts/free-port';
import { startNodeChild, type BenchChild } from './child-processes';
import { startOtlpSink, type OtlpSink } from './otlp-sink';
import type { BenchServer } from './temporal-servers';

export const VARIANTS = [
  'herald',
  'herald-observed',
  'herald-uncontrolled',
  'herald-limited',
  'herald-encrypted',
  'bare',
] as const;
/** What runs when BENCH_VARIANTS is not given. */
export const DEFAULT_VARIANTS: readonly VariantName[] = ['herald', 'bare'];
export type VariantName = (typeof VARIANTS)[number];

/** What became of one attempt to hand a message over. */
export type SendOutcome =
  | { kind: 'accepted' }
  /** 429: admission control refused it; Retry-After in seconds when the API gave one. */
  | { kind: 'refused'; retryAfterSeconds: number | undefined }
  | { kind: 'failed'; detail: string };

export interface RunningVariant {
  name: VariantName;
  taskQueue: string;
  worker: BenchChild;
  /** Herald's API process; the bare variant has none (this process starts its workflows). */
  api: BenchChild | undefined;
  send(id: string, n: number): Promise<SendOutcome>;
  /** Spans the OTLP sink received (herald-observed only). */
  spansExported?: () => number;
  stop(): Promise<void>;
}

export interface StartVariantOptions {
  server: BenchServer;
  client: Client;
  /** Where the children's logs and Herald's data directory go. */
  workDir: string;
  downstreamUrl: string;
  /** Unique per run and server: a task queue no earlier run used. */
  taskQueue: string;
  /** LOG_LEVEL of Herald's processes. */
  logLevel: string;
  /** herald-limited: the downstream's rate limit, attempts per second. */
  rateLimit: number;
  /** Above 0, Herald's messages retry every 100 ms (the receiver fails their first attempts). */
  failFirst: number;
  readyTimeoutMs: number;
}

const API_KEY = 'bench-key-0123456789abcdef';

export async function startVariant(name: VariantName, options: StartVariantOptions): Promise<RunningVariant> {
  if (name === 'bare') return startBare(options);
  if (name !== 'herald-observed') {
    return startHerald(options, name);
  }
  const sink = await startOtlpSink();
  try {
    return await startHerald(options, name, sink);
  } catch (error) {
    await sink.close();
    throw error;
  }
}

async function startHerald(
  options: StartVariantOptions,
  name: Exclude<VariantName, 'bare'>,
  sink?: OtlpSink,
): Promise<RunningVariant> {
  const { server, taskQueue } = options;
  const dataDir = join(options.workDir, `${name}-${server.kind}`);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  // Observed: the worker serves its metrics (HERALD_METRICS_PORT) and both processes export traces.
  const observed: NodeJS.ProcessEnv = sink
    ? {
        HERALD_METRICS_PORT: String(await freePort()),
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }
    : // The baseline: no metrics listener (tracing is off without an endpoint).
      { HERALD_METRICS_PORT: 'off' };
  // One data directory for both, as on one host: the API reads the worker's events from the SQLite file.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    HERALD_TASK_QUEUE: taskQueue,
    HERALD_DATA_DIR: dataDir,
    HERALD_API_KEYS: `bench:${API_KEY}`,
    HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
    HERALD_API_HOST: '127.0.0.1',
    HERALD_API_PORT: String(port),
    HERALD_DATABASE_URL: '',
    LOG_LEVEL: options.logLevel,
    ...(name === 'herald-uncontrolled' ? { HERALD_DESTINATION_CONTROL: 'off' } : {}),
    // Every other variant runs without encryption (a fleet's default): the bench's own environment must not switch it on.
    HERALD_ENCRYPTION_KEYS: name === 'herald-encrypted' ? `bench:${randomBytes(32).toString('base64')}` : '',
    ...observed,
  };
  const worker = startNodeChild(
    `${name}-worker`,
    'src/worker.ts',
    env,
    join(options.workDir, `${name}-worker-${server.kind}.log`),
  );
  const api = startNodeChild(
    `${name}-api`,
    'src/api-server.ts',
    env,
    join(options.workDir, `${name}-api-${server.kind}.log`),
  );
  const apiUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await Promise.all([api.stop(), worker.stop()]);
    await sink?.close();
  };
  try {
    await waitUntil(
      async () => (await pollerCount(options.client, server.namespace, taskQueue)) > 0,
      [worker, api],
      options.readyTimeoutMs,
      'the Herald worker to poll',
    );
    // /readyz: Temporal reachable, a worker polling, the store writable.
    await waitUntil(
      async () => (await request(`${apiUrl}/readyz`).then((r) => (r.body.dump(), r.statusCode))) === 200,
      [worker, api],
      options.readyTimeoutMs,
      'the Herald API to be ready',
    );
    if (name === 'herald-limited') await limitDestination(apiUrl, options.downstreamUrl, options.rateLimit);
  } catch (error) {
    await stop();
    throw error;
  }
  const retry =
    options.failFirst > 0
      ? {
          retry: { initialInterval: '100ms', backoffCoefficient: 1, jitter: 0, maximumAttempts: options.failFirst + 1 },
        }
      : {};
  return {
    name,
    taskQueue,
    worker,
    api,
    stop,
    ...(sink ? { spansExported: () => sink.spans() } : {}),
    send: async (id, n) => {
      try {
        const response = await request(`${apiUrl}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, destination: { url: options.downstreamUrl }, body: { n }, ...retry }),
        });
        await response.body.dump();
        if (response.statusCode === 202) return { kind: 'accepted' };
        if (response.statusCode === 429) {
          const header = response.headers['retry-after'];
          const seconds = Number(Array.isArray(header) ? header[0] : header);
          return { kind: 'refused', retryAfterSeconds: Number.isFinite(seconds) ? seconds : undefined };
        }
        return { kind: 'failed', detail: `HTTP ${response.statusCode}` };
      } catch (error) {
        return { kind: 'failed', detail: (error as Error).message };
      }
    },
  };
}

async function startBare(options: StartVariantOptions): Promise<RunningVariant> {
  const { server, taskQueue, client } = options;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    BENCH_TASK_QUEUE: taskQueue,
  };
  const worker = startNodeChild(
    'bare-worker',
    'bench/bare/worker.ts',
    env,
    join(options.workDir, `bare-worker-${server.kind}.log`),
  );
  try {
    await waitUntil(
      async () => (await pollerCount(client, server.namespace, taskQueue)) > 0,
      [worker],
      options.readyTimeoutMs,
      'the bare worker to poll',
    );
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return {
    name: 'bare',
    taskQueue,
    worker,
    api: undefined,
    stop: () => worker.stop(),
    send: async (id, n) => {
      try {
        await client.workflow.start('bareDeliver', {
          taskQueue,
          workflowId: id,
          args: [{ id, url: options.downstreamUrl, body: { n } }],
        });
        return { kind: 'accepted' };
      } catch (error) {
        return { kind: 'failed', detail: (error as Error).message };
      }
    },
  };
}

/** Sets the downstream's rate limit as an operator would, then waits out the workers' settings refresh (1 s). */
async function limitDestination(apiUrl: string, downstreamUrl: string, rateLimit: number): Promise<void> {
  const host = new URL(downstreamUrl).host;
  const response = await request(`${apiUrl}/v1/destinations/${host}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rateLimit }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`PUT /v1/destinations/${host}: HTTP ${response.statusCode} ${text}`);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
}

/** Workflow-task pollers Temporal currently sees on the queue (a worker that polls is ready). */
async function pollerCount(client: Client, namespace: string, taskQueue: string): Promise<number> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return response.pollers?.length ?? 0;
}

async function waitUntil(
  check: () => Promise<boolean>,
  processes: BenchChild[],
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const gone = processes.find((p) => !p.running());
    if (gone) throw new Error(`${gone.name} exited while waiting for ${what} (see its log)`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

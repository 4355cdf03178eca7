/**
 * A worker's own HTTP listener for Prometheus (HERALD_METRICS_PORT): `GET /metrics` answers Herald's
 * worker series and, after them, the Temporal SDK's (its runtime exports them on a loopback port of
 * its own, read here at each scrape), so one scrape config covers a worker. node:http rather than a
 * second Fastify app: one route, no body, nothing to validate.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface MetricsListenerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Bearer token a scrape must send; '' = none. */
  token: string;
  /** Where the SDK runtime's own exposition is read (http://127.0.0.1:port/metrics), if it exports one. */
  sdkMetricsUrl?: string;
  /** Told when the SDK's exposition stops (or starts again) answering. */
  logger?: Logger;
}

export interface MetricsListener {
  /** http://host:port/metrics, with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

const SDK_READ_TIMEOUT_MS = 2_000;

/** Whether an Authorization header carries `Bearer <token>` (compared in constant time); both /metrics use it. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = Buffer.from(authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The SDK's exposition, or why it could not be read (the scrape still answers Herald's own series). */
async function readSdkMetrics(url: string | undefined): Promise<{ text: string } | { error: string }> {
  if (!url) return { error: "this process's Temporal SDK runtime exports no metrics" };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SDK_READ_TIMEOUT_MS) });
    if (!response.ok) return { error: `${url} answered ${response.status}` };
    return { text: await response.text() };
  } catch (error) {
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return { error: `${url} did not answer: ${cause}` };
  }
}

/**
 * Whether this scrape carries the SDK's series: without it, their absence would look like a worker with
 * no pollers or slots rather than a blind spot (the exporter's port taken, or its runtime gone).
 */
function sdkUpSeries(up: boolean): string {
  return [
    "# HELP herald_worker_sdk_metrics_up 1 when this scrape carries the Temporal SDK's temporal_* series; 0 when they could not be read (the worker log says why).",
    '# TYPE herald_worker_sdk_metrics_up gauge',
    `herald_worker_sdk_metrics_up ${up ? 1 : 0}`,
    '',
  ].join('\n');
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  // Logged when it changes, not at every scrape.
  let sdkAnswered: boolean | undefined;
  const noteSdk = (sdk: { text: string } | { error: string }) => {
    const answered = 'text' in sdk;
    if (answered === sdkAnswered) return;
    if ('error' in sdk) {
      options.logger?.warn({ reason: sdk.error }, "the Temporal SDK's metrics are missing from this worker's scrapes");
    } else if (sdkAnswered === false) {
      options.logger?.info({ url: options.sdkMetricsUrl }, "the Temporal SDK's metrics answer again");
    }
    sdkAnswered = answered;
  };
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    if (options.token && !bearerMatches(request.headers.authorization, options.token)) {
      response
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' })
        .end('send HERALD_METRICS_TOKEN as "Authorization: Bearer <token>"\n');
      return;
    }
    Promise.all([options.registry.metrics(), readSdkMetrics(options.sdkMetricsUrl)]).then(
      ([herald, sdk]) => {
        noteSdk(sdk);
        const body = `${herald}\n${sdkUpSeries('text' in sdk)}${'text' in sdk ? `\n${sdk.text}` : ''}`;
        response.writeHead(200, { 'content-type': options.registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: Error) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `HERALD_METRICS_PORT ${options.port} on ${options.host} is in use: set another port, 0 for any free one, or off`,
            )
          : error,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A worker's own HTTP listener for Prometheus (HERALD_METRICS_PORT): `GET /metrics` answers Herald's
 * worker series and, after them, the Temporal SDK's (its runtime exports them on a loopback port of
 * its own, read here at each scrape), so one scrape config covers a worker. node:http rather than a
 * second Fastify app: one route, no body, nothing to validate.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsListenerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Bearer token a scrape must send; '' = none. */
  token: string;
  /** Where the SDK runtime's own exposition is read (http://127.0.0.1:port/metrics), if it exports one. */
  sdkMetricsUrl?: string;
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

/** The SDK's exposition, or '' when it cannot be read (the scrape still answers Herald's own series). */
async function readSdkMetrics(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SDK_READ_TIMEOUT_MS) });
    return response.ok ? await response.text() : '';
  } catch {
    return '';
  }
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
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
        response.writeHead(200, { 'content-type': options.registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : sdk ? `${herald}\n${sdk}` : herald);
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

/** A free TCP port on 127.0.0.1 (for the SDK runtime's exporter, which takes an address, not a socket). */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

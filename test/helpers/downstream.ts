/**
 * A real HTTP server on 127.0.0.1 that plays a downstream service: it records every request and answers
 * from a per-path script (status, headers, body, delay, or a reset connection), so tests can make it
 * fail on command.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (to exceed an attempt timeout). */
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

export interface ReceivedRequest {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's exact bytes (a binary body is not text). */
  rawBody: Buffer;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface Downstream {
  port: number;
  url(path?: string): string;
  /** Answers the next requests to `path` with these responses in order; the last one repeats. */
  script(path: string, responses: ScriptedResponse[]): void;
  /** Custom handler for a path; returns the response to give. */
  handle(path: string, handler: (request: ReceivedRequest) => ScriptedResponse): void;
  requests(path?: string): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startDownstream(): Promise<Downstream> {
  const received: ReceivedRequest[] = [];
  const scripts = new Map<string, ScriptedResponse[]>();
  const handlers = new Map<string, (request: ReceivedRequest) => ScriptedResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const request: ReceivedRequest = {
        path,
        method: req.method ?? 'GET',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        rawBody: Buffer.concat(chunks),
        at: Date.now(),
      };
      received.push(request);
      const script = scripts.get(path);
      const response =
        handlers.get(path)?.(request) ?? (script && script.length > 1 ? script.shift() : script?.[0]) ?? {};
      if (response.reset) {
        req.socket.destroy();
        return;
      }
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(response.status ?? 200, { 'content-type': 'text/plain', ...response.headers });
        res.end(response.body ?? 'ok');
      }, response.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    script: (path, responses) => scripts.set(path, [...responses]),
    handle: (path, handler) => handlers.set(path, handler),
    requests: (path) => (path ? received.filter((r) => r.path === path) : [...received]),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, read, released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The downstream of a chaos run: a real HTTP server on 127.0.0.1 that fails a share of requests, hangs
 * on some (longer than the attempt timeout), and records for every request whether it was answered or
 * cut by the client. Messages that expect a reply are handed to the replier after a 2xx.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DownstreamRequest {
  messageId: string;
  arrivedAt: number;
  planned: 'ok' | 'fail' | 'hang';
  /** The response was written completely. */
  answeredAt?: number;
  /** The client closed the connection before the response was written. */
  cutAt?: number;
}

export interface ChaosDownstream {
  port: number;
  requests: DownstreamRequest[];
  close(): Promise<void>;
}

export interface DownstreamOptions {
  failRatio: number;
  hangRatio: number;
  hangMs: number;
  random: () => number;
  /** Called once per message, at its first 2xx, when the request path says a reply is expected. */
  onDelivered: (messageId: string) => void;
}

export async function startChaosDownstream(options: DownstreamOptions): Promise<ChaosDownstream> {
  const requests: DownstreamRequest[] = [];
  const delivered = new Set<string>();
  const server: Server = createServer((req, res) => {
    const header = req.headers['idempotency-key'];
    const messageId = (Array.isArray(header) ? header[0] : header) ?? 'unknown';
    const draw = options.random();
    const planned = draw < options.hangRatio ? 'hang' : draw < options.hangRatio + options.failRatio ? 'fail' : 'ok';
    const record: DownstreamRequest = { messageId, arrivedAt: Date.now(), planned };
    requests.push(record);
    res.on('finish', () => {
      record.answeredAt = Date.now();
      if (planned === 'ok' && !delivered.has(messageId)) {
        delivered.add(messageId);
        if ((req.url ?? '').includes('reply=1')) options.onDelivered(messageId);
      }
    });
    res.on('close', () => {
      if (record.answeredAt === undefined) record.cutAt = Date.now();
    });
    req.resume();
    req.on('end', () => {
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(planned === 'fail' ? 503 : 200, { 'content-type': 'application/json' });
        res.end(planned === 'fail' ? '{"error":"injected"}' : '{"ok":true}');
      };
      if (planned === 'hang') setTimeout(answer, options.hangMs).unref();
      else answer();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

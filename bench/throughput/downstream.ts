/**
 * The receiver every variant delivers to: an HTTP server on 127.0.0.1 answering 200 at once (or 503 to
 * each message's first `failFirst` requests), which notes when each message (by its idempotency-key
 * header) first arrived with a 200 and wakes whoever waits for it, and when every request arrived.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Downstream {
  url: string;
  /** When each id first arrived (performance.now()). */
  receivedAt: ReadonlyMap<string, number>;
  /** Requests for an id that had already arrived (at-least-once delivery repeats). */
  duplicates(): number;
  /** When each request arrived (performance.now()), failed ones included: the attempts. */
  requestTimes: readonly number[];
  /** Resolves with the arrival time once `id` arrived, or with undefined at `deadline` (performance.now()). */
  waitFor(id: string, deadline: number): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startDownstream(options: { failFirst?: number } = {}): Promise<Downstream> {
  const failFirst = options.failFirst ?? 0;
  const receivedAt = new Map<string, number>();
  const failed = new Map<string, number>();
  const requestTimes: number[] = [];
  const waiters = new Map<string, (at: number) => void>();
  let duplicates = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const at = performance.now();
      requestTimes.push(at);
      const id = String(req.headers['idempotency-key']);
      const failures = failed.get(id) ?? 0;
      if (failures < failFirst) {
        failed.set(id, failures + 1);
        res.statusCode = 503;
        res.end('not yet');
        return;
      }
      if (receivedAt.has(id)) duplicates += 1;
      else {
        receivedAt.set(id, at);
        waiters.get(id)?.(at);
        waiters.delete(id);
      }
      res.end('ok');
    });
  });
  // Keep-alive sockets stay open between deliveries, as with a real receiver.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    receivedAt,
    duplicates: () => duplicates,
    requestTimes,
    waitFor: (id, deadline) => {
      const at = receivedAt.get(id);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => {
        const timer = setTimeout(
          () => {
            waiters.delete(id);
            resolve(undefined);
          },
          Math.max(0, deadline - performance.now()),
        );
        waiters.set(id, (arrived) => {
          clearTimeout(timer);
          resolve(arrived);
        });
      });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

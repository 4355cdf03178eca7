/**
 * Benchmark: messages through the whole stack on one machine. Starts its own Temporal dev server (free
 * port), a Herald worker, the HTTP API and a downstream HTTP server on 127.0.0.1, then sends MESSAGES
 * messages through POST /v1/messages with CONCURRENCY in flight, and measures:
 *   - acceptance latency (POST → 202), p50/p95/p99
 *   - end-to-end latency (POST → the downstream received the request), p50/p95/p99
 *   - throughput (messages delivered per second)
 * Prints a table and writes JSON to bench/results/. Bounded in count and time; stops by itself.
 *
 *   npm run bench            (MESSAGES=500 CONCURRENCY=25 npm run bench to change the load)
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/observability/logger';
import { HERALD_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';
import { openResources } from '../src/runtime/resources';
import { installRuntimeLogger } from '../src/temporal/runtime-logger';
import { findTemporalCli, temporalCliVersion } from '../src/temporal/temporal-cli';

const MESSAGES = Number(process.env.MESSAGES ?? 300);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const TIME_LIMIT_MS = 300_000;
const API_KEY = 'bench-key-0123456789abcdef';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const logger = createLogger('warn', 'bench');
  // Before the dev server below: it instantiates the SDK's Runtime, which takes a logger only before that.
  installRuntimeLogger(logger);
  const cli = findTemporalCli({ log: () => undefined });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      ip: '127.0.0.1',
      searchAttributes: HERALD_SEARCH_ATTRIBUTES,
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const received = new Map<string, number>();
  const downstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['idempotency-key']);
      if (!received.has(id)) received.set(id, performance.now());
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
  const port = (downstream.address() as AddressInfo).port;

  const config = loadConfig({
    TEMPORAL_ADDRESS: env.address,
    HERALD_TASK_QUEUE: 'herald-bench',
    HERALD_DATA_DIR: dataDir,
    HERALD_API_KEYS: `bench:${API_KEY}`,
    HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
    HERALD_API_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const herald = await openResources(config, { logger, worker: true, api: true });
  const { url } = herald.api;

  const accepted: number[] = [];
  const sentAt = new Map<string, number>();
  const startedAt = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < MESSAGES && performance.now() - startedAt < TIME_LIMIT_MS) {
      const id = `bench-${next++}`;
      const t0 = performance.now();
      sentAt.set(id, t0);
      const response = await request(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, destination: { url: `http://127.0.0.1:${port}/hook` }, body: { n: next } }),
      });
      await response.body.dump();
      if (response.statusCode !== 202) throw new Error(`unexpected ${response.statusCode}`);
      accepted.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  const acceptedAllAt = performance.now();
  while (received.size < sentAt.size && performance.now() - startedAt < TIME_LIMIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const finishedAt = performance.now();

  const endToEnd = [...received].map(([id, at]) => at - (sentAt.get(id) ?? at)).sort((a, b) => a - b);
  accepted.sort((a, b) => a - b);
  const result = {
    benchmark: 'delivery-throughput',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    temporal: temporalCliVersion(cli.path),
    messages: sentAt.size,
    delivered: received.size,
    concurrency: CONCURRENCY,
    acceptMs: { p50: percentile(accepted, 50), p95: percentile(accepted, 95), p99: percentile(accepted, 99) },
    endToEndMs: { p50: percentile(endToEnd, 50), p95: percentile(endToEnd, 95), p99: percentile(endToEnd, 99) },
    acceptedPerSecond: sentAt.size / ((acceptedAllAt - startedAt) / 1000),
    deliveredPerSecond: received.size / ((finishedAt - startedAt) / 1000),
  };

  const row = (name: string, value: string) => console.log(`${name.padEnd(28)} ${value}`);
  console.log(`\nHerald delivery benchmark (${result.machine.cpus} cores, ${result.temporal})`);
  row('messages sent / delivered', `${result.messages} / ${result.delivered}`);
  row('concurrency', String(CONCURRENCY));
  row(
    'accept latency p50/p95/p99',
    `${result.acceptMs.p50.toFixed(1)} / ${result.acceptMs.p95.toFixed(1)} / ${result.acceptMs.p99.toFixed(1)} ms`,
  );
  row(
    'end-to-end p50/p95/p99',
    `${result.endToEndMs.p50.toFixed(1)} / ${result.endToEndMs.p95.toFixed(1)} / ${result.endToEndMs.p99.toFixed(1)} ms`,
  );
  row('accepted per second', result.acceptedPerSecond.toFixed(1));
  row('delivered per second', result.deliveredPerSecond.toFixed(1));
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `delivery-throughput-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file}`);

  await herald.close();
  downstream.close();
  await env.teardown();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

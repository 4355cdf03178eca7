/**
 * Benchmark: the memory of messages parked in `awaiting_reply`, and what a reply costs once its message
 * left the worker's sticky cache. For each cache size in PARKED_CACHES (default: Herald's default, from
 * HERALD_WORKER_MEMORY_BUDGET, then the SDK's own default for this heap), it starts:
 *   - its own Temporal dev server (in memory, free port);
 *   - a Herald worker as a CHILD PROCESS (`node --import tsx src/worker.ts`, configured by environment), so
 *     its RSS is its own: VmRSS from /proc, summed over the worker and its descendants;
 *   - the HTTP API in this process (for the replies) and a downstream on 127.0.0.1 answering 200.
 * Then it starts messages expecting a reply (timeout PARKED_REPLY_TIMEOUT, 2h) through the Temporal client
 * with the API's own startMessage(), PARKED_START_CONCURRENCY at a time, up to each count of PARKED_STEPS
 * (default 0,1000,2500,5000,10000,20000); at each step, once every message is `awaiting_reply` (counted in
 * visibility), it records the worker's RSS. At the end it replies (POST /v1/messages/{id}/reply, signed)
 * one at a time to PARKED_REPLY_SAMPLE (default 50) of the most recently parked messages (in the cache)
 * and to as many of the oldest (evicted when more messages than the cache holds are parked), and measures
 * POST → 200 `replied` (or, past HERALD_REPLY_WAIT, → the status query saying `replied`), p50/p99.
 * Prints a table and writes JSON to bench/results/. Bounded by PARKED_TIME_LIMIT_MINUTES (60); children are
 * killed on exit and on failure.
 *
 *   npm run bench:parked     (PARKED_STEPS=0,500,2000 PARKED_CACHES=default npm run bench:parked for a quick look)
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { loadConfig } from '../src/config/config';
import {
  cachedWorkflowsForBudget,
  DEFAULT_WORKER_MEMORY_BUDGET,
  heapLimitForBudgetMiB,
  parseByteSize,
} from '../src/config/workflow-cache';
import { HERALD_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';
import { createLogger } from '../src/observability/logger';
import { openResources } from '../src/runtime/resources';
import { getMessageStatus, startMessage } from '../src/temporal/message-operations';
import { installRuntimeLogger } from '../src/temporal/runtime-logger';
import { findTemporalCli, temporalCliVersion } from '../src/temporal/temporal-cli';

const STEPS = (process.env.PARKED_STEPS ?? '0,1000,2500,5000,10000,20000').split(',').map(Number);
const CACHES = (process.env.PARKED_CACHES ?? 'default,sdk').split(',').map((c) => c.trim());
const SAMPLE = Number(process.env.PARKED_REPLY_SAMPLE ?? 50);
const START_CONCURRENCY = Number(process.env.PARKED_START_CONCURRENCY ?? 24);
const REPLY_TIMEOUT = process.env.PARKED_REPLY_TIMEOUT ?? '2h';
const BUDGET_BYTES = parseByteSize(process.env.HERALD_WORKER_MEMORY_BUDGET ?? DEFAULT_WORKER_MEMORY_BUDGET) ?? NaN;
/**
 * Node options of the worker process only, not of this one: by default the heap limit for the budget,
 * as `npm run worker` and the Docker image run it (README, "Memory of parked messages").
 */
const WORKER_NODE_OPTIONS =
  process.env.PARKED_WORKER_NODE_OPTIONS ?? `--max-old-space-size=${heapLimitForBudgetMiB(BUDGET_BYTES)}`;
/** Starting stops after this long, wherever it is, so the replies are still measured in time. */
const START_LIMIT_MS = Number(process.env.PARKED_START_LIMIT_MINUTES ?? 40) * 60_000;
const TIME_LIMIT_MS = Number(process.env.PARKED_TIME_LIMIT_MINUTES ?? 60) * 60_000;
/** RSS is sampled this long after a step settled, so the collector had its chance. */
const SETTLE_MS = 5_000;
const API_KEY = 'bench-key-0123456789abcdef';
const REPLY_SECRET = `whsec_${Buffer.from('herald-bench-reply-secret-32byte').toString('base64')}`;
const ROOT = join(__dirname, '..');
const startedAt = Date.now();
const LOAD_AT_START = loadavg();

/** The SDK's default cache size on this heap (worker-options.js, with reuseV8Context, its default). */
function sdkDefaultCache(): number {
  const heapMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.max(Math.floor((Math.max(heapMiB - 200, 0) * 600) / 1024), 10);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function checkTime(what: string): void {
  if (Date.now() - startedAt > TIME_LIMIT_MS) throw new Error(`time limit reached while ${what}`);
}

/** A process and every descendant, from /proc/<pid>/task/<tid>/children. */
function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const tasks = (() => {
      try {
        return readdirSync(`/proc/${pids[i]}/task`);
      } catch {
        return []; // gone
      }
    })();
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(' ').map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return pids;
}

/** VmRSS (and VmHWM, its peak) in MiB of the worker and its descendants. */
function workerMemory(pid: number): { rssMiB: number; peakMiB: number; processes: number } {
  let rssKiB = 0;
  let peakKiB = 0;
  const tree = processTree(pid);
  for (const each of tree) {
    try {
      const status = readFileSync(`/proc/${each}/status`, 'utf8');
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peakKiB += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { rssMiB: rssKiB / 1024, peakMiB: peakKiB / 1024, processes: tree.length };
}

interface WorkerChild {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<unknown>;
}

/** Runs src/worker.ts with `env`; resolves once it logs 'worker started'. */
async function startWorker(env: Record<string, string>): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      // Fewer glibc malloc arenas for the SDK's native threads, as in the Docker image.
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      ...env,
      ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (typeof entry.level === 'number' && entry.level >= 40) console.error(`[worker] ${line}`);
    }
  });
  const exited = once(child, 'exit');
  const deadline = Date.now() + 120_000;
  while (!logs.some((entry) => entry.msg === 'worker started')) {
    if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode} before it started`);
    if (Date.now() > deadline) throw new Error('the worker did not start within 120 s');
    await sleep(200);
  }
  return { child, logs, exited };
}

async function stopWorker(worker: WorkerChild): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
  await worker.exited;
  clearTimeout(timer);
}

interface Step {
  parked: number;
  rssMiB: number;
  peakMiB: number;
  /** Seconds to start this step's messages and see all of them awaiting their reply. */
  seconds: number;
  /** The step's count was not reached: starting ran out of PARKED_START_LIMIT_MINUTES. */
  cut: boolean;
}

interface CacheResult {
  cache: string;
  cachedWorkflows: number;
  cachedWorkflowsFrom: unknown;
  workerProcesses: number;
  steps: Step[];
  replyMs: {
    cached: { p50: number; p99: number; max: number; n: number; notReplied: number };
    evicted: { p50: number; p99: number; max: number; n: number; notReplied: number };
  };
  loadAverage: number[];
}

/** Everything one cache size needs; closes it all, whatever happened. */
async function runCache(cache: string, cli: string, children: Set<WorkerChild>): Promise<CacheResult> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        ip: '127.0.0.1',
        searchAttributes: HERALD_SEARCH_ATTRIBUTES,
      },
    });
    cleanups.push(() => env.teardown());
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-parked-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const downstream: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => downstream.close(resolve)));
    const downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/hook`;

    const heraldEnv: Record<string, string> = {
      TEMPORAL_ADDRESS: env.address,
      HERALD_TASK_QUEUE: `herald-parked-${cache}`,
      HERALD_DATA_DIR: dataDir,
      HERALD_API_KEYS: `bench:${API_KEY}`,
      HERALD_REPLY_SECRETS: JSON.stringify({ '*': REPLY_SECRET }),
      HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
      HERALD_API_PORT: '0',
      HERALD_WORKER_SHUTDOWN_GRACE: '0',
      HERALD_REPLY_WAIT: '10s',
      LOG_LEVEL: 'info',
    };
    if (cache === 'sdk') heraldEnv.HERALD_WORKER_CACHED_WORKFLOWS = String(sdkDefaultCache());
    else if (cache !== 'default') heraldEnv.HERALD_WORKER_CACHED_WORKFLOWS = cache;

    const worker = await startWorker(heraldEnv);
    children.add(worker);
    cleanups.push(() => stopWorker(worker));
    const pid = worker.child.pid!;
    const started = worker.logs.find((entry) => entry.msg === 'worker started')!;
    const cachedWorkflows = Number(started.cachedWorkflows);

    const config = loadConfig({ ...heraldEnv, LOG_LEVEL: 'warn' });
    const herald = await openResources(config, { logger: createLogger('warn', 'bench'), api: true });
    cleanups.push(() => herald.close());
    const { client } = herald;

    const ids: string[] = [];
    const steps: Step[] = [];
    let processes = 1;
    const startingSince = performance.now();
    for (const wanted of STEPS) {
      const t0 = performance.now();
      let next = ids.length;
      let cut = false;
      const starter = async () => {
        while (next < wanted) {
          if (performance.now() - startingSince > START_LIMIT_MS) {
            cut = true;
            return;
          }
          const id = `parked-${cache}-${next++}`;
          ids.push(id);
          await startMessage(
            client,
            { id, destination: { url: downstreamUrl }, body: { n: next }, reply: { timeout: REPLY_TIMEOUT } },
            config.taskQueue,
          );
        }
      };
      await Promise.all(Array.from({ length: START_CONCURRENCY }, starter));
      const target = ids.length;
      // Cut before this step started a single message: nothing new to measure.
      if (cut && target === steps.at(-1)?.parked) break;
      // Every one of them delivered and waiting for its reply, as visibility sees it.
      const query = `TaskQueue = '${config.taskQueue}' AND HeraldState = 'awaiting_reply'`;
      for (;;) {
        checkTime(`waiting for ${target} messages to park`);
        const { count } = await client.workflow.count(query);
        if (count >= target) break;
        await sleep(1_000);
      }
      const seconds = (performance.now() - t0) / 1000;
      await sleep(SETTLE_MS);
      const memory = workerMemory(pid);
      processes = memory.processes;
      steps.push({ parked: target, rssMiB: memory.rssMiB, peakMiB: memory.peakMiB, seconds, cut });
      console.log(
        `[${cache}] ${target} parked: worker RSS ${memory.rssMiB.toFixed(0)} MiB ` +
          `(peak ${memory.peakMiB.toFixed(0)}, ${memory.processes} process(es)), ${seconds.toFixed(0)} s${cut ? ' (cut: start limit)' : ''}`,
      );
      if (cut) break;
    }

    const reply = async (id: string): Promise<number | undefined> => {
      const raw = JSON.stringify({ body: { answer: id }, status: 200 });
      const timestamp = new Date();
      const t0 = performance.now();
      const response = await request(`${herald.api.url}/v1/messages/${id}/reply`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': new Webhook(REPLY_SECRET).sign(id, timestamp, raw),
        },
        body: raw,
      });
      const body = (await response.body.json()) as { state?: string };
      if (response.statusCode === 200 && body.state === 'replied') return performance.now() - t0;
      if (response.statusCode !== 202)
        throw new Error(`reply to ${id}: ${response.statusCode} ${JSON.stringify(body)}`);
      // Held by Temporal, not settled within HERALD_REPLY_WAIT: the time until the workflow says replied.
      while (performance.now() - t0 < 120_000) {
        if ((await getMessageStatus(client, id)).state === 'replied') return performance.now() - t0;
        await sleep(50);
      }
      return undefined;
    };
    const measure = async (sample: string[]) => {
      const times: number[] = [];
      let notReplied = 0;
      for (const id of sample) {
        checkTime('replying');
        const ms = await reply(id);
        if (ms === undefined) notReplied++;
        else times.push(ms);
      }
      times.sort((a, b) => a - b);
      const max = times.at(-1) ?? NaN;
      return { p50: percentile(times, 50), p99: percentile(times, 99), max, n: times.length, notReplied };
    };
    // The newest first, while they are surely in the cache; then the oldest, which the newer pushed out
    // (once more messages are parked than the cache holds) and whose replays must not evict the newest.
    const newest = ids.slice(-Math.min(SAMPLE, Math.floor(cachedWorkflows / 2) || SAMPLE));
    const cached = await measure(newest);
    const evicted = await measure(ids.slice(0, Math.min(SAMPLE, ids.length - newest.length)));
    return {
      cache,
      cachedWorkflows,
      cachedWorkflowsFrom: started.cachedWorkflowsFrom,
      workerProcesses: processes,
      steps,
      replyMs: { cached, evicted },
      loadAverage: loadavg(),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  }
}

async function main(): Promise<void> {
  const logger = createLogger('warn', 'bench');
  // Before the dev server: it instantiates the SDK's Runtime, which takes a logger only before that.
  installRuntimeLogger(logger);
  const cli = findTemporalCli({ log: () => undefined });
  const children = new Set<WorkerChild>();
  // A failure or a signal must not leave a worker holding gigabytes behind.
  const killChildren = () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killChildren();
      process.exit(130);
    });
  }

  const results: CacheResult[] = [];
  for (const cache of CACHES) results.push(await runCache(cache, cli.path, children));

  const at = new Date().toISOString();
  const output = {
    benchmark: 'parked-memory',
    at,
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    temporal: temporalCliVersion(cli.path),
    budgetMiB: BUDGET_BYTES / 2 ** 20,
    defaultCacheForBudget: cachedWorkflowsForBudget(BUDGET_BYTES),
    workerNodeOptions: WORKER_NODE_OPTIONS,
    loadAverageAtStart: LOAD_AT_START,
    replyTimeout: REPLY_TIMEOUT,
    results,
  };
  console.log(`\nParked messages and worker memory (${output.machine.cpus} cores, ${output.temporal})`);
  for (const result of results) {
    console.log(
      `\ncache ${result.cache}: ${result.cachedWorkflows} workflows (from ${String(result.cachedWorkflowsFrom)}), ` +
        `load average at the end ${result.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
    );
    console.log(`${'parked'.padStart(8)} ${'RSS MiB'.padStart(8)} ${'peak MiB'.padStart(9)} ${'seconds'.padStart(8)}`);
    for (const step of result.steps) {
      console.log(
        `${String(step.parked).padStart(8)} ${step.rssMiB.toFixed(0).padStart(8)} ${step.peakMiB.toFixed(0).padStart(9)} ${step.seconds.toFixed(0).padStart(8)}`,
      );
    }
    for (const kind of ['cached', 'evicted'] as const) {
      const r = result.replyMs[kind];
      console.log(
        `reply → replied, ${kind.padEnd(7)} p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms (n=${r.n}, not replied ${r.notReplied})`,
      );
    }
  }
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `parked-memory-${at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

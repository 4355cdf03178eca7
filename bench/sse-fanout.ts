/**
 * Benchmark: Server-Sent Events fan-out on one API process. Starts the API as a child process
 * (`node --import tsx src/api-server.ts`, SQLite event log, no Temporal needed for `GET /v1/events`),
 * opens SSE_CLIENTS (default 2,000) concurrent streams from this process over raw node:http, spread
 * over SSE_KEYS (default 10) API keys, then appends events to the same SQLite file from this process (as
 * a worker would: another process, so the API hears of them only through its poll) at SSE_RATE (default
 * 50) events/s, each for one key's streams. Measures:
 *   - the delay from append (committed) to each client receiving the event, p50/p99;
 *   - the API process's CPU (utime+stime from /proc/<pid>/stat, % of one core) and RSS, idle (streams
 *     open, no events) and under load;
 *   - events missing or repeated per stream, streams closed as lagging, and on SIGTERM how long the
 *     process took to stop and how many streams ended cleanly.
 * Variants, interleaved A B A B … for SSE_ROUNDS (default 3) rounds each: `hub` (one reader per process,
 * the product) and `per-stream` (bench/per-stream-polling-api.ts: the old behaviour, a read per stream per
 * poll). Prints a table of medians with min–max, writes JSON to bench/results/. Bounded; stops by itself.
 *
 *   npm run bench:sse        (SSE_CLIENTS=500 SSE_ROUNDS=1 npm run bench:sse for a quick look)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog } from '../src/store/sqlite-event-log';
import { freePort } from '../scripts/free-port';

const CLIENTS = Number(process.env.SSE_CLIENTS ?? 2000);
const KEYS = Number(process.env.SSE_KEYS ?? 10);
const RATE = Number(process.env.SSE_RATE ?? 50);
const ROUNDS = Number(process.env.SSE_ROUNDS ?? 3);
const IDLE_MS = Number(process.env.SSE_IDLE_SECONDS ?? 10) * 1000;
const LOAD_MS = Number(process.env.SSE_LOAD_SECONDS ?? 20) * 1000;
const POLL = process.env.HERALD_EVENT_POLL_INTERVAL ?? '200ms';
/** The whole run stops here, whatever it has measured. */
const TIME_LIMIT_MS = 30 * 60_000;
const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux
const ROOT = join(__dirname, '..');

type Variant = 'hub' | 'per-stream';
const ENTRY: Record<Variant, string> = { hub: 'src/api-server.ts', 'per-stream': 'bench/per-stream-polling-api.ts' };

const keyName = (k: number) => `k${k}`;
const keySecret = (k: number) => `bench-key-${String(k).padStart(4, '0')}-0123456789`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) and RSS of a process, from /proc. */
function sample(pid: number): { cpuSeconds: number; rssMiB: number; at: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": comm may hold spaces, so split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, rssMiB: rssKiB / 1024, at: performance.now() };
}
const cpuPercent = (from: ReturnType<typeof sample>, to: ReturnType<typeof sample>) =>
  ((to.cpuSeconds - from.cpuSeconds) / ((to.at - from.at) / 1000)) * 100;

interface Client {
  key: number;
  request: ClientRequest;
  response?: IncomingMessage;
  received: number;
  repeats: number;
  lastId: number;
  /** How the stream ended: by the server cleanly ('end'), or cut ('error'/'aborted'). */
  ended?: 'end' | 'cut';
}

interface RoundResult {
  variant: Variant;
  round: number;
  clients: number;
  idle: { cpuPercent: number; rssMiB: number };
  load: { cpuPercent: number; rssMiB: number; eventsPerSecond: number };
  delayMs: { p50: number; p99: number; max: number };
  deliveries: { expected: number; received: number; missing: number; repeated: number };
  /** Streams that ended while the round ran (lagging or failed), before the stop. */
  endedEarly: number;
  stop: { ms: number; streamsEndedCleanly: number; streamsCut: number; exitCode: number | null };
}

async function runRound(variant: Variant, round: number, deadline: number): Promise<RoundResult> {
  const dataDir = mkdtempSync(join(tmpdir(), `herald-bench-sse-${variant}-`));
  const log = openSqliteEventLog(join(dataDir, 'dead-letters.sqlite'));
  const port = await freePort();
  const closedPort = await freePort(); // Temporal: not needed for these streams, and never connected
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, ENTRY[variant])], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}`,
      HERALD_DATA_DIR: dataDir,
      HERALD_API_HOST: '127.0.0.1',
      HERALD_API_PORT: String(port),
      HERALD_API_KEYS: Array.from({ length: KEYS }, (_, k) => `${keyName(k)}:${keySecret(k)}`).join(','),
      HERALD_EVENT_POLL_INTERVAL: POLL,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const clients: Client[] = [];
  const publishedAt = new Map<string, number>();
  const delays: number[] = [];
  let endedEarly = 0;
  let stopping = false;
  try {
    const base = `http://127.0.0.1:${port}`;
    for (;;) {
      if (performance.now() > deadline) throw new Error('time limit before the API answered');
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(100);
    }
    const pid = child.pid!;

    const open = (key: number) =>
      new Promise<void>((resolve, reject) => {
        const client: Client = { key, request: undefined as never, received: 0, repeats: 0, lastId: 0 };
        let buffer = '';
        client.request = get(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/events',
            agent: false,
            headers: { authorization: `Bearer ${keySecret(key)}` },
          },
          (response) => {
            client.response = response;
            if (response.statusCode !== 200) return reject(new Error(`stream answered ${response.statusCode}`));
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              const now = performance.now();
              buffer += chunk;
              let end: number;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                const id = /^id: (\d+)$/m.exec(block);
                const message = /"id":"([^"]+)"/.exec(block);
                if (!id || !message) continue;
                const logId = Number(id[1]);
                if (logId <= client.lastId) client.repeats += 1;
                else {
                  client.lastId = logId;
                  client.received += 1;
                  const at = publishedAt.get(message[1]!);
                  if (at !== undefined) delays.push(now - at);
                }
              }
              resolve(); // the first chunk (`retry:`): the stream is open
            });
            response.on('end', () => {
              client.ended ??= 'end';
              if (!stopping) endedEarly += 1;
            });
            response.on('aborted', () => (client.ended ??= 'cut'));
            response.on('error', () => (client.ended ??= 'cut'));
          },
        );
        client.request.on('error', (error) => {
          client.ended ??= 'cut';
          if (!stopping) endedEarly += 1;
          reject(error);
        });
        clients.push(client);
      });
    // In waves, so the listen backlog never overflows.
    for (let i = 0; i < CLIENTS; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, CLIENTS - i) }, (_, j) => open((i + j) % KEYS)));
    }
    await sleep(2_000);

    const idleFrom = sample(pid);
    await sleep(IDLE_MS);
    const idleTo = sample(pid);

    const loadFrom = sample(pid);
    const startedAt = performance.now();
    let published = 0;
    const perKey = new Array<number>(KEYS).fill(0);
    while (performance.now() - startedAt < LOAD_MS && performance.now() < deadline) {
      // On schedule, not after a fixed sleep, so the rate holds when a tick runs late.
      const due = startedAt + (published * 1000) / RATE;
      if (performance.now() < due) await sleep(due - performance.now());
      const key = published % KEYS;
      const messageId = `bench-${variant}-${round}-${published}`;
      await log.append({
        messageId,
        runId: 'bench',
        seq: 1,
        state: 'delivering',
        destination: 'bench.example',
        sender: keyName(key),
        at: new Date().toISOString(),
      });
      publishedAt.set(messageId, performance.now());
      perKey[key]! += 1;
      published += 1;
    }
    const loadSeconds = (performance.now() - startedAt) / 1000;
    await sleep(2_000); // the last events reach their clients
    const loadTo = sample(pid);

    const expected = clients.reduce((sum, c) => sum + perKey[c.key]!, 0);
    const received = clients.reduce((sum, c) => sum + c.received, 0);
    const repeated = clients.reduce((sum, c) => sum + c.repeats, 0);

    // A graceful stop: the API ends every stream, then exits.
    stopping = true;
    const stopFrom = performance.now();
    child.kill('SIGTERM');
    const [exitCode] = await Promise.race([
      exited,
      sleep(30_000).then(() => {
        child.kill('SIGKILL');
        return exited;
      }),
    ]);
    const stopMs = performance.now() - stopFrom;
    await sleep(200);
    delays.sort((a, b) => a - b);
    return {
      variant,
      round,
      clients: clients.length,
      idle: { cpuPercent: cpuPercent(idleFrom, idleTo), rssMiB: idleTo.rssMiB },
      load: {
        cpuPercent: cpuPercent(loadFrom, loadTo),
        rssMiB: loadTo.rssMiB,
        eventsPerSecond: published / loadSeconds,
      },
      delayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays[delays.length - 1] ?? NaN },
      deliveries: { expected, received, missing: expected - received, repeated },
      endedEarly,
      stop: {
        ms: stopMs,
        streamsEndedCleanly: clients.filter((c) => c.ended === 'end').length,
        streamsCut: clients.filter((c) => c.ended !== 'end').length,
        exitCode,
      },
    };
  } finally {
    for (const client of clients) client.request.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await log.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const deadline = performance.now() + TIME_LIMIT_MS;
  const rounds: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const variant of ['hub', 'per-stream'] as const) {
      if (performance.now() > deadline) break;
      const result = await runRound(variant, round, deadline);
      rounds.push(result);
      console.log(
        `round ${round} ${variant.padEnd(10)} idle cpu ${result.idle.cpuPercent.toFixed(1)}%  load cpu ${result.load.cpuPercent.toFixed(1)}%  ` +
          `delay p50/p99 ${result.delayMs.p50.toFixed(0)}/${result.delayMs.p99.toFixed(0)} ms  ` +
          `missing ${result.deliveries.missing}  repeated ${result.deliveries.repeated}  stop ${result.stop.ms.toFixed(0)} ms`,
      );
    }
  }

  const pick = (variant: Variant, value: (r: RoundResult) => number) => {
    const values = rounds.filter((r) => r.variant === variant).map(value);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
  };
  const metrics: [string, (r: RoundResult) => number, number][] = [
    ['delay p50 (ms)', (r) => r.delayMs.p50, 0],
    ['delay p99 (ms)', (r) => r.delayMs.p99, 0],
    ['CPU idle (% of a core)', (r) => r.idle.cpuPercent, 1],
    ['CPU at 50 events/s (% of a core)', (r) => r.load.cpuPercent, 1],
    ['RSS idle (MiB)', (r) => r.idle.rssMiB, 0],
    ['RSS at 50 events/s (MiB)', (r) => r.load.rssMiB, 0],
    ['deliveries missing', (r) => r.deliveries.missing, 0],
    ['deliveries repeated', (r) => r.deliveries.repeated, 0],
    ['streams ended early', (r) => r.endedEarly, 0],
    ['SIGTERM to exit (ms)', (r) => r.stop.ms, 0],
    ['streams ended cleanly at stop', (r) => r.stop.streamsEndedCleanly, 0],
  ];
  const summary = Object.fromEntries(
    metrics.map(([name, value]) => [name, { hub: pick('hub', value), perStream: pick('per-stream', value) }]),
  );
  const cell = (s: { median: number; min: number; max: number }, digits: number) =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  console.log(
    `\nSSE fan-out: ${CLIENTS} streams over ${KEYS} keys, ${RATE} events/s appended by another process, ` +
      `poll ${POLL}, ${ROUNDS} rounds each (median, min–max)`,
  );
  console.log(`${'metric'.padEnd(34)} ${'hub'.padEnd(28)} per-stream polling`);
  for (const [name, , digits] of metrics) {
    const s = summary[name]!;
    console.log(`${name.padEnd(34)} ${cell(s.hub, digits).padEnd(28)} ${cell(s.perStream, digits)}`);
  }

  const result = {
    benchmark: 'sse-fanout',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: {
      clients: CLIENTS,
      keys: KEYS,
      eventsPerSecond: RATE,
      rounds: ROUNDS,
      idleSeconds: IDLE_MS / 1000,
      loadSeconds: LOAD_MS / 1000,
      pollInterval: POLL,
      appendedBy: 'the bench process (another process than the API): the API learns of events by its poll only',
    },
    summary,
    rounds,
  };
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sse-fanout-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

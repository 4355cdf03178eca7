/**
 * `npm run bench`: Herald against a bare Temporal workflow, side by side, on the same Temporal.
 *
 * Starts one Temporal per server kind (see below) and, against it, each variant once:
 *   herald: Herald's real worker and API processes (src/worker.ts, src/api-server.ts), configured by
 *           environment; messages go through POST /v1/messages;
 *   bare:   bench/bare/, one workflow with one activity doing the same POST (undici, default retry
 *           policy), its own worker process; messages are started with client.workflow.start.
 * Both deliver to one receiver on 127.0.0.1 that answers 200. After a warm-up, rounds alternate
 * (herald, bare, herald, bare, …; over several servers, server by server within each round), each a closed
 * loop of MESSAGES messages with CONCURRENCY in flight (a message is in flight until the receiver got it),
 * with fresh workflow ids and a wait until the round's workflows closed. Per round: delivered/s, accept
 * latency p50/p95/p99 (POST → 202, or start() resolved), end-to-end p50/p99 (send → received), CPU ms
 * per message of the server, the worker and the API process (utime+stime from /proc, descendants
 * included), and history events and workflow tasks per message (a sample of histories). Prints medians
 * with min–max over rounds and the ratio herald/bare; writes JSON to bench/results/<name>-<time>.json.
 *
 * `--mode overload`: Herald alone; after the warm-up a closed loop finds its capacity, then an open loop offers 3× that
 * rate for 60 s and counts admitted (202), refused (429, Retry-After noted, not honoured) and failed; then
 * waits (bounded) until every admitted message arrived: lost = admitted − delivered, which must be 0.
 *
 * Options: a flag, or its environment variable (flags win):
 *   --mode compare|overload          BENCH_MODE               compare
 *   --server file,file-legacy,…      BENCH_SERVER             file (fleet when TEMPORAL_ADDRESS is set)
 *        file: the dev server as `npm start` runs it (SQLite file, tuned flags, src/temporal/dev-server.ts);
 *        file-legacy: the same without the tuning; file-candidate: file plus --server-args (to try a
 *        setting side by side with file); memory: the dev server in memory;
 *        fleet: the Temporal at TEMPORAL_ADDRESS (e.g. `npm run temporal:fleet`), not started here.
 *   --variants herald,bare           BENCH_VARIANTS           herald,bare (also: herald-observed, Herald with
 *        the worker's metrics port and tracing on, exporting OTLP to a counting sink on 127.0.0.1;
 *        herald-uncontrolled, Herald with HERALD_DESTINATION_CONTROL=off; herald-encrypted, Herald with
 *        payload encryption on; herald-limited, Herald with
 *        the downstream's destination limited to --rate-limit attempts per second)
 *   --rate-limit N                   BENCH_RATE_LIMIT         50 (herald-limited)
 *   --fail-first N                   BENCH_FAIL_FIRST         0: the receiver answers 503 to each message's first N
 *        requests and Herald's messages retry every 100 ms, so attempts/s (what a limit limits) exceed
 *        delivered/s; Herald variants only
 *   --messages N                     BENCH_MESSAGES           1000 per round
 *   --concurrency C                  BENCH_CONCURRENCY        50
 *   --rounds R                       BENCH_ROUNDS             3 per variant and server
 *   --warmup N                       BENCH_WARMUP             100 messages per variant, not measured
 *   --history-sample N               BENCH_HISTORY_SAMPLE     20 histories per round
 *   --capacity-messages N            BENCH_CAPACITY_MESSAGES  500 (overload: the capacity loop, after the warm-up)
 *   --overload-factor X              BENCH_OVERLOAD_FACTOR    3
 *   --overload-seconds S             BENCH_OVERLOAD_SECONDS   60
 *   --drain-seconds S                BENCH_DRAIN_SECONDS      300 (overload: longest wait for the admitted)
 *   --server-args "…"                BENCH_SERVER_ARGS        extra start-dev flags of file-candidate
 *   --log-level L                    BENCH_LOG_LEVEL          warn (Herald's processes)
 *   --time-limit-minutes M           BENCH_TIME_LIMIT_MINUTES 30: the run stops here, whatever it measured
 *   --name NAME                      BENCH_NAME               delivery-throughput
 *   (environment only)               BENCH_CPU_PROF_DIR       unset: a V8 CPU profile per child process and thread
 * Everything listens on 127.0.0.1, on free ports; every process started is stopped at the end, on a
 * failure and on SIGINT/SIGTERM; the workers and the API also when this process is killed with SIGKILL
 * (scripts/run-while-parent-lives.mjs; a dev server started here is then left running).
 */
import { Client, Connection } from '@temporalio/client';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { stopAllChildren, stopChildrenOnExit } from './throughput/child-processes';
import { runClosedLoop } from './throughput/closed-loop';
import { startDownstream, type Downstream } from './throughput/downstream';
import { parseBenchOptions, type BenchOptions } from './throughput/options';
import { formatOverload, runOverload } from './throughput/overload';
import { formatComparison, ratiosOf, summarize } from './throughput/report';
import { runRound, type RoundResult } from './throughput/round';
import { startBenchServer, type BenchServer } from './throughput/temporal-servers';
import { startVariant, type RunningVariant } from './throughput/variants';

/** A server with its client and the variants running against it. */
interface Target {
  server: BenchServer;
  connection: Connection;
  client: Client;
  variants: RunningVariant[];
}

const READY_TIMEOUT_MS = 180_000;

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const runId = Date.now().toString(36);
  const workDir = mkdtempSync(join(tmpdir(), 'herald-bench-run-'));
  const targets: Target[] = [];
  let downstream: Downstream | undefined;
  const cleanUp = async () => {
    await stopAllChildren();
    for (const target of targets) {
      await target.connection.close().catch(() => undefined);
      await target.server.stop().catch(() => undefined);
    }
    await downstream?.close();
  };
  stopChildrenOnExit(cleanUp);
  const limit = setTimeout(() => {
    console.error(`time limit of ${options.timeLimitMs / 60_000} min reached; stopping`);
    void cleanUp().finally(() => process.exit(1));
  }, options.timeLimitMs);
  limit.unref();

  const loadBefore = loadavg();
  const startedAt = new Date();
  let output: Record<string, unknown>;
  try {
    downstream = await startDownstream({ failFirst: options.failFirst });
    const variantNames = options.mode === 'overload' ? (['herald'] as const) : options.variants;
    const servers = options.mode === 'overload' ? options.servers.slice(0, 1) : options.servers;
    for (const kind of servers) {
      const server = await startBenchServer(kind, {
        extraArgs: options.serverArgs,
        fleetAddress: options.fleetAddress,
        namespace: options.namespace,
        // The server's warnings (slow persistence under load, mostly) go to its log, not over the table.
        log: (line) => appendFileSync(join(workDir, `temporal-${kind}.log`), `${line}\n`),
      });
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection, namespace: server.namespace });
      const target: Target = { server, connection, client, variants: [] };
      targets.push(target);
      console.log(`${kind}: ${server.description} at ${server.address}; starting ${variantNames.join(', ')}…`);
      // In parallel: each worker bundles its workflows first, which takes a while.
      target.variants = await Promise.all(
        variantNames.map((name) =>
          startVariant(name, {
            server,
            client,
            workDir,
            downstreamUrl: downstream!.url,
            taskQueue: `bench-${name}-${kind}-${runId}`,
            logLevel: options.logLevel,
            rateLimit: options.rateLimit,
            failFirst: options.failFirst,
            readyTimeoutMs: READY_TIMEOUT_MS,
          }),
        ),
      );
    }
    const common = {
      benchmark: 'delivery-throughput',
      mode: options.mode,
      at: startedAt.toISOString(),
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      temporal: targets.map((t) => ({ kind: t.server.kind, description: t.server.description })),
      options: { ...options, fleetAddress: options.fleetAddress ?? null },
    };

    if (options.mode === 'overload') {
      const [target] = targets;
      // Warm, like the compared rounds: a cold worker's first messages would understate the capacity.
      await warmUp(target!, target!.variants[0]!, downstream, options);
      const result = await runOverload({
        server: target!.server,
        herald: target!.variants[0]!,
        downstream,
        capacityMessages: options.capacityMessages,
        concurrency: options.concurrency,
        factor: options.overloadFactor,
        windowSeconds: options.overloadSeconds,
        drainSeconds: options.drainSeconds,
      });
      console.log(`\n${formatOverload(result)}`);
      output = { ...common, loadAverage: { before: loadBefore, after: loadavg() }, result };
    } else {
      for (const target of targets) {
        for (const variant of target.variants) await warmUp(target, variant, downstream, options);
      }
      const rounds: RoundResult[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        for (const target of targets) {
          for (const variant of target.variants) {
            const result = await runRound({
              server: target.server,
              variant,
              client: target.client,
              downstream,
              round,
              messages: options.messages,
              concurrency: options.concurrency,
              timeLimitMs: 10 * 60_000,
              historySample: options.historySample,
            });
            rounds.push(result);
            console.log(
              `round ${round} ${target.server.kind} ${variant.name}: ${result.deliveredPerSecond.toFixed(1)} delivered/s, ` +
                `${result.attemptsPerSecond.toFixed(1)} attempts/s (steady ${result.attemptRate.steadyPerSecond.toFixed(1)}, ` +
                `busiest 2 s ${result.attemptRate.busiestWindowPerSecond.toFixed(1)}), ` +
                `${result.delivered}/${result.messages} delivered, load ${loadavg()[0]!.toFixed(1)}`,
            );
          }
        }
      }
      const summaries = summarize(rounds);
      const ratios = ratiosOf(rounds);
      console.log(
        `\nDelivery benchmark: ${options.messages} messages × ${options.rounds} rounds, ${options.concurrency} in flight, ` +
          `${common.machine.cpus} cores, load average ${loadBefore[0]!.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
      );
      console.log(formatComparison(summaries, ratios));
      // The observed variant's spans reached the sink: tracing was on, not silently off.
      for (const variant of targets.flatMap((target) => target.variants)) {
        if (variant.spansExported) console.log(`${variant.name}: ${variant.spansExported()} spans exported`);
      }
      output = { ...common, loadAverage: { before: loadBefore, after: loadavg() }, summaries, ratios, rounds };
    }
  } catch (error) {
    console.error(error);
    console.error(`the children's logs are kept in ${workDir}`);
    await cleanUp();
    process.exit(1);
  }
  await cleanUp();
  rmSync(workDir, { recursive: true, force: true });
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${options.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

/** Messages not measured, so the first round does not pay for cold code and caches (JIT, sticky cache). */
async function warmUp(
  target: Target,
  variant: RunningVariant,
  downstream: Downstream,
  options: BenchOptions,
): Promise<void> {
  if (options.warmup === 0) return;
  const prefix = `bench-warmup-${variant.name}-${target.server.kind}-${Date.now().toString(36)}`;
  const result = await runClosedLoop({
    messages: options.warmup,
    concurrency: options.concurrency,
    deadline: performance.now() + 5 * 60_000,
    idOf: (n) => `${prefix}-${n}`,
    send: variant.send,
    downstream,
  });
  if (result.failed > 0)
    throw new Error(`warm-up of ${variant.name}: ${result.failed} failed (${result.firstFailure})`);
}

// Exit explicitly: gRPC and undici keep handles that would hold the process.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

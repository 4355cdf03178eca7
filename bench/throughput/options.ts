/**
 * The benchmark's options, from flags (`npm run bench -- --rounds 5`) over environment variables
 * (BENCH_ROUNDS=5), over defaults. Invalid values stop the run with every problem named at once.
 */
import { SERVER_KINDS, type ServerKind } from './temporal-servers';
import { DEFAULT_VARIANTS, VARIANTS, type VariantName } from './variants';

export type BenchMode = 'compare' | 'overload';

export interface BenchOptions {
  /** `compare` (closed loop, variants side by side) or `overload` (Herald at 3× its capacity). @defaultValue 'compare' */
  mode: BenchMode;
  /** Servers, each started once; rounds interleave over them. @defaultValue ['file'] (['fleet'] with TEMPORAL_ADDRESS) */
  servers: ServerKind[];
  /** @defaultValue ['herald', 'bare'] */
  variants: VariantName[];
  /** Messages per round. @defaultValue 1000 */
  messages: number;
  /** Messages in flight (closed loop). @defaultValue 50 */
  concurrency: number;
  /** Rounds per variant and server. @defaultValue 3 */
  rounds: number;
  /** Messages per variant before the first round, not measured. @defaultValue 100 */
  warmup: number;
  /** Histories fetched per round. @defaultValue 20 */
  historySample: number;
  /** Overload: messages of the closed loop that finds capacity. @defaultValue 300 */
  capacityMessages: number;
  /** Overload: open-loop rate as a multiple of capacity. @defaultValue 3 */
  overloadFactor: number;
  /** The destination rate limit of the `herald-limited` variant, attempts per second. @defaultValue 50 */
  rateLimit: number;
  /**
   * The receiver answers 503 to each message's first this many requests, and Herald's variants retry
   * every 100 ms: attempts per second then exceed messages per second (the rate a limit is measured at).
   * @defaultValue 0
   */
  failFirst: number;
  /** Overload: length of the open-loop window, seconds. @defaultValue 60 */
  overloadSeconds: number;
  /** Overload: longest wait for the admitted messages after the window, seconds. @defaultValue 300 */
  drainSeconds: number;
  /** Extra flags of the `file-candidate` dev server, split on spaces. @defaultValue [] */
  serverArgs: string[];
  /** Herald processes' LOG_LEVEL. @defaultValue 'warn' */
  logLevel: string;
  /** The whole run stops here. @defaultValue 30 minutes */
  timeLimitMs: number;
  /** Name of the JSON file in bench/results/ (before the timestamp). @defaultValue 'delivery-throughput' */
  name: string;
  fleetAddress: string | undefined;
  namespace: string;
}

const FLAGS: Record<string, string> = {
  mode: 'BENCH_MODE',
  server: 'BENCH_SERVER',
  variants: 'BENCH_VARIANTS',
  messages: 'BENCH_MESSAGES',
  concurrency: 'BENCH_CONCURRENCY',
  rounds: 'BENCH_ROUNDS',
  warmup: 'BENCH_WARMUP',
  'history-sample': 'BENCH_HISTORY_SAMPLE',
  'capacity-messages': 'BENCH_CAPACITY_MESSAGES',
  'overload-factor': 'BENCH_OVERLOAD_FACTOR',
  'rate-limit': 'BENCH_RATE_LIMIT',
  'fail-first': 'BENCH_FAIL_FIRST',
  'overload-seconds': 'BENCH_OVERLOAD_SECONDS',
  'drain-seconds': 'BENCH_DRAIN_SECONDS',
  'server-args': 'BENCH_SERVER_ARGS',
  'log-level': 'BENCH_LOG_LEVEL',
  'time-limit-minutes': 'BENCH_TIME_LIMIT_MINUTES',
  name: 'BENCH_NAME',
};

/** `--name value` and `--name=value` pairs, each mapped onto its environment variable. */
export function flagsToEnv(argv: readonly string[]): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    const variable = match ? FLAGS[match[1]!] : undefined;
    if (!match || !variable) {
      problems.push(
        `unknown argument "${argv[i]}" (flags: ${Object.keys(FLAGS)
          .map((f) => `--${f}`)
          .join(', ')})`,
      );
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) problems.push(`--${match[1]} needs a value`);
    else env[variable] = value;
  }
  return { env, problems };
}

export function parseBenchOptions(argv: readonly string[], processEnv: NodeJS.ProcessEnv): BenchOptions {
  const flags = flagsToEnv(argv);
  const problems = [...flags.problems];
  const env = { ...processEnv, ...flags.env };
  const read = (name: string, fallback: string) => env[name]?.trim() || fallback;
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const value = Number(read(name, String(fallback)));
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}: an integer from ${min} to ${max}, got "${env[name]}"`);
    }
    return value;
  };
  const list = <T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] => {
    const values = read(name, fallback)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    for (const value of values) {
      if (!allowed.includes(value as T)) problems.push(`${name}: "${value}" is not one of ${allowed.join(', ')}`);
    }
    return values as T[];
  };
  const fleetAddress = env.TEMPORAL_ADDRESS?.trim() || undefined;
  const mode = read('BENCH_MODE', 'compare');
  if (mode !== 'compare' && mode !== 'overload') problems.push(`BENCH_MODE: compare or overload, got "${mode}"`);
  const factor = Number(read('BENCH_OVERLOAD_FACTOR', '3'));
  if (!(factor > 0 && factor <= 100))
    problems.push(`BENCH_OVERLOAD_FACTOR: a number above 0, got "${env.BENCH_OVERLOAD_FACTOR}"`);
  const options: BenchOptions = {
    mode: mode as BenchMode,
    // With TEMPORAL_ADDRESS given, the benchmark starts no server of its own.
    servers: list('BENCH_SERVER', fleetAddress ? 'fleet' : 'file', SERVER_KINDS),
    variants: list('BENCH_VARIANTS', DEFAULT_VARIANTS.join(','), VARIANTS),
    messages: integer('BENCH_MESSAGES', 1000, 1, 1_000_000),
    concurrency: integer('BENCH_CONCURRENCY', 50, 1, 10_000),
    rounds: integer('BENCH_ROUNDS', 3, 1, 100),
    warmup: integer('BENCH_WARMUP', 100, 0, 1_000_000),
    historySample: integer('BENCH_HISTORY_SAMPLE', 20, 0, 1000),
    capacityMessages: integer('BENCH_CAPACITY_MESSAGES', 500, 1, 1_000_000),
    overloadFactor: factor,
    rateLimit: integer('BENCH_RATE_LIMIT', 50, 1, 100_000),
    failFirst: integer('BENCH_FAIL_FIRST', 0, 0, 20),
    overloadSeconds: integer('BENCH_OVERLOAD_SECONDS', 60, 1, 3600),
    drainSeconds: integer('BENCH_DRAIN_SECONDS', 300, 1, 3600),
    serverArgs: read('BENCH_SERVER_ARGS', '').split(/\s+/).filter(Boolean),
    logLevel: read('BENCH_LOG_LEVEL', 'warn'),
    timeLimitMs: integer('BENCH_TIME_LIMIT_MINUTES', 30, 1, 24 * 60) * 60_000,
    name: read('BENCH_NAME', 'delivery-throughput'),
    fleetAddress,
    namespace: read('TEMPORAL_NAMESPACE', 'default'),
  };
  if (options.servers.includes('fleet') && !fleetAddress) problems.push('BENCH_SERVER fleet needs TEMPORAL_ADDRESS');
  if (options.servers.length === 0) problems.push('BENCH_SERVER: name at least one server');
  if (options.variants.length === 0) problems.push('BENCH_VARIANTS: name at least one variant');
  // The bare workflow retries under Temporal's default policy (1 s, doubling): no like-for-like comparison.
  if (options.failFirst > 0 && options.variants.includes('bare'))
    problems.push('BENCH_FAIL_FIRST: compares Herald variants only (the bare workflow retries under another policy)');
  if (problems.length > 0) throw new Error(`invalid benchmark options:\n  ${problems.join('\n  ')}`);
  return options;
}

/**
 * The Temporal a benchmark run talks to, by kind: the embedded dev server as `npm start` runs it
 * (`file`: SQLite file, tuned flags), the same before the tuning (`file-legacy`), `file` with extra flags
 * (`file-candidate`: BENCH_SERVER_ARGS, to try a setting side by side with `file`), in memory (`memory`),
 * or an already-running server (`fleet`: TEMPORAL_ADDRESS, e.g. `npm run temporal:fleet`; not started or
 * stopped here, and its CPU is not measured).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port';
import { startDevServer } from '../../src/temporal/dev-server';
import { findTemporalCli, temporalCliVersion } from '../../src/temporal/temporal-cli';

export const SERVER_KINDS = ['file', 'file-legacy', 'file-candidate', 'memory', 'fleet'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export interface BenchServer {
  kind: ServerKind;
  address: string;
  namespace: string;
  /** Its OS process, for CPU figures; undefined when the benchmark did not start it. */
  pid: number | undefined;
  /** What it is, for the report (the CLI's version line, or the address of a fleet). */
  description: string;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Extra `temporal server start-dev` flags of `file-candidate` (BENCH_SERVER_ARGS). */
  extraArgs: string[];
  /** The fleet's address (TEMPORAL_ADDRESS) and namespace. */
  fleetAddress: string | undefined;
  namespace: string;
  log: (line: string) => void;
}

/** Starts (or, for `fleet`, points at) a Temporal of the given kind. */
export async function startBenchServer(kind: ServerKind, options: StartServerOptions): Promise<BenchServer> {
  if (kind === 'fleet') {
    if (!options.fleetAddress) throw new Error('--server fleet needs TEMPORAL_ADDRESS (e.g. npm run temporal:fleet)');
    return {
      kind,
      address: options.fleetAddress,
      namespace: options.namespace,
      pid: undefined,
      description: `Temporal at ${options.fleetAddress}`,
      stop: async () => undefined,
    };
  }
  const cli = findTemporalCli({ log: () => undefined });
  // On the same disk as a checkout's .data/ (tmpdir is not a tmpfs here; fsync costs what it costs there).
  const dataDir = mkdtempSync(join(tmpdir(), `herald-bench-${kind}-`));
  const server = await startDevServer({
    cliPath: cli.path,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: options.namespace,
    dataDir,
    tuning: kind === 'file-legacy' ? 'legacy' : 'tuned',
    inMemory: kind === 'memory',
    extraArgs: kind === 'file-candidate' ? options.extraArgs : [],
    log: (line) => options.log(`[temporal ${kind}] ${line}`),
  });
  return {
    kind,
    address: server.address,
    namespace: options.namespace,
    pid: server.pid,
    description: `${temporalCliVersion(cli.path)}, ${kind}`,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

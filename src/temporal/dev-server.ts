/**
 * The embedded Temporal: `temporal server start-dev` with a persistent SQLite file, the Web UI, and
 * Herald's search attributes, started by `npm start` when no TEMPORAL_ADDRESS is configured.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HERALD_SEARCH_ATTRIBUTES } from '../contract/search-attributes';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  uiPort: number;
  /** The Web UI's remote codec (Herald's /codec on the API): the UI then offers to decode payloads. */
  uiCodecEndpoint?: string;
  namespace: string;
  dataDir: string;
  /** Where the server's own output goes, line by line. */
  log: (line: string) => void;
  /**
   * `tuned` runs with devServerTuningFlags; `legacy` without them (the flags before the tuning, kept so
   * `npm run bench -- --server file-legacy,file` measures the gain). @defaultValue 'tuned'
   */
  tuning?: DevServerTuning;
  /** Keep Temporal's state in memory instead of the file (benchmarks only: nothing survives a stop). @defaultValue false */
  inMemory?: boolean;
  /** Flags appended as they are (a benchmark trying a candidate setting). @defaultValue [] */
  extraArgs?: string[];
}

export type DevServerTuning = 'tuned' | 'legacy';

/**
 * SQLite pragmas for the file the embedded server keeps its state in. WAL with synchronous=NORMAL commits
 * without an fsync (the WAL is synced at each checkpoint): a crash of the process loses nothing committed,
 * a power loss or OS crash may lose the last transactions before it (README, "The embedded Temporal: speed
 * and durability"). The server accepts no other pragma. The server's default (a rollback journal, synchronous=FULL) syncs several times per commit,
 * and the dev server runs every read and write of all its services through one SQLite connection.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=NORMAL'] as const;

/** The flags `tuned` adds: the pragmas, for a file (an in-memory database has no journal to tune). */
export function devServerTuningFlags(options: { inMemory: boolean }): string[] {
  return options.inMemory ? [] : DEV_SERVER_SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]);
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The SQLite file (also when `inMemory`: where it would be). */
  dbFile: string;
  /** The server's OS process id (a benchmark reads its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** Starts the dev server and resolves once it answers on its gRPC port. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const dbFile = join(options.dataDir, 'temporal.sqlite');
  const address = `127.0.0.1:${options.port}`;
  const inMemory = options.inMemory ?? false;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    // A file, not memory: workflows survive a restart of `npm start`.
    ...(inMemory ? [] : ['--db-filename', dbFile]),
    '--log-level',
    'warn',
    ...HERALD_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...((options.tuning ?? 'tuned') === 'tuned' ? devServerTuningFlags({ inMemory }) : []),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
    ...(options.extraArgs ?? []),
  ];
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and Temporal must
  // outlive the worker's drain (which still reports to it); Herald stops it last, in stop().
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stopping = false;
  // Once we ask it to stop, its system workers complain about lost connections: noise, not news.
  const forward = (chunk: Buffer) =>
    !stopping &&
    chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim())
      .forEach((line) => options.log(line));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitUntilReachable(address, exited);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  return {
    address,
    uiUrl: `http://localhost:${options.uiPort}`,
    dbFile,
    pid: child.pid!,
    stop: () => {
      stopping = true;
      return stopChild(child, exited);
    },
  };
}

async function waitUntilReachable(address: string, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let done = false;
  void exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`the Temporal dev server exited before it was ready (is port ${address} in use?)`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.healthService.check({});
      await connection.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within ${READY_TIMEOUT_MS / 1000}s`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Herald as a fleet for tests: N worker processes (`src/worker.ts`) and M API processes
 * (`src/api-server.ts`), each a real OS process (chaos/processes.ts) with its own HERALD_DATA_DIR, on one
 * task queue of the Temporal the jest global setup started (the dev server, or Temporal on PostgreSQL
 * under `npm run test:fleet`). Nothing is shared on local disk, as between hosts. Each start resolves
 * once the process is ready (a worker polls, an API's /readyz answers 200); stop with SIGTERM, kill with
 * SIGKILL, restart either way. Whatever a test file started is stopped after its last test, however it
 * ended (test/setup/close-fixtures.ts); a failed start shows the end of the process's log.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heraldProcess, type ExitKind, type ManagedProcess, type ProcessEvent } from '../../chaos/processes';
import { callApi, TEST_API_ENV, type CallOptions, type TestResponse } from './api';
import { eventually } from './eventually';
import { TEST_ENV, uniqueId } from './herald';
import { freePort } from './postgres';

export interface HeraldFleetOptions {
  /** Worker processes. @defaultValue 1 */
  workers?: number;
  /** API processes. @defaultValue 1 */
  apis?: number;
  /** Variables over TEST_ENV and TEST_API_ENV for every process (e.g. HERALD_DATABASE_URL). */
  env?: Record<string, string>;
  /** Variables for one process over `env`, by its name (`worker-1`, `api-2`). */
  envFor?: (name: string) => Record<string, string>;
  /** How long a process may take to be ready. @defaultValue 120 s (a worker bundles its workflows first) */
  readyTimeoutMs?: number;
}

/** One Herald process of the fleet. */
export interface FleetProcess {
  name: string;
  kind: 'worker' | 'api';
  managed: ManagedProcess;
  dataDir: string;
  logFile: string;
  /** Its log lines so far that are JSON (pino), parsed. */
  logs(): Record<string, unknown>[];
}

/** An API process, with its URL. */
export interface FleetApi extends FleetProcess {
  kind: 'api';
  url: string;
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<TestResponse<T>>;
}

export interface HeraldFleet {
  taskQueue: string;
  workers: FleetProcess[];
  apis: FleetApi[];
  /** Every start, signal and exit, with its time (as chaos reports them). */
  events: ProcessEvent[];
  logDir: string;
  /** SIGTERM (waits for the drain) or SIGKILL; resolves once it exited. */
  stop(process: FleetProcess, kind?: ExitKind): Promise<void>;
  /** Starts a stopped process again, with the same data directory; resolves once it is ready. */
  start(process: FleetProcess): Promise<void>;
  restart(process: FleetProcess, kind?: ExitKind): Promise<void>;
  /** Stops every process (SIGTERM, SIGKILL after 15 s) and deletes their data (also done after the file). */
  close(): Promise<void>;
}

const open = new Set<HeraldFleet>();

/** Starts the workers, then the APIs (whose readiness needs a polling worker); all on free ports. */
export async function startHeraldFleet(options: HeraldFleetOptions = {}): Promise<HeraldFleet> {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('the jest global setup did not start Temporal');
  const taskQueue = uniqueId('herald-fleet');
  const root = mkdtempSync(join(tmpdir(), 'herald-fleet-'));
  const logDir = join(root, 'logs');
  mkdirSync(logDir);
  const events: ProcessEvent[] = [];
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const all: FleetProcess[] = [];

  const make = async (kind: 'worker' | 'api', n: number): Promise<FleetProcess> => {
    const name = `${kind}-${n}`;
    const dataDir = join(root, name);
    mkdirSync(dataDir);
    const port = kind === 'api' ? await freePort() : 0;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...TEST_ENV,
      ...TEST_API_ENV,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: process.env.HERALD_TEST_NAMESPACE ?? 'default',
      HERALD_TASK_QUEUE: taskQueue,
      HERALD_DATA_DIR: dataDir,
      HERALD_API_PORT: String(port),
      // Readiness of a worker is its "worker started" line.
      LOG_LEVEL: 'info',
      ...options.env,
      ...options.envFor?.(name),
    };
    const entry = kind === 'worker' ? 'src/worker.ts' : 'src/api-server.ts';
    const managed = heraldProcess(name, entry, env, logDir, events);
    const logFile = join(logDir, `${name}.log`);
    const logs = () =>
      (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const base = { name, kind, managed, dataDir, logFile, logs };
    if (kind === 'worker') return base;
    const url = `http://127.0.0.1:${port}`;
    return {
      ...base,
      kind: 'api',
      url,
      call: (method, path, callOptions) => callApi(url, method, path, callOptions),
    } as FleetApi;
  };

  const logTail = (p: FleetProcess) =>
    existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';

  const start = async (p: FleetProcess) => {
    const startedBefore = p.logs().filter((line) => line.msg === 'worker started').length;
    p.managed.start();
    try {
      await eventually(
        async () => {
          if (!p.managed.running) throw new Error(`${p.name} exited`);
          if (p.kind === 'worker')
            return p.logs().filter((line) => line.msg === 'worker started').length > startedBefore;
          return (await (p as FleetApi).call('GET', '/readyz', { headers: { authorization: null } })).status === 200;
        },
        { what: `${p.name} to be ready`, timeoutMs: readyTimeoutMs, intervalMs: 250 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- end of ${p.logFile} ---\n${logTail(p)}`, { cause: error });
    }
  };
  const stop = async (p: FleetProcess, kind: ExitKind = 'sigterm') => p.managed.stop(kind, 15_000);

  const fleet: HeraldFleet = {
    taskQueue,
    workers: [],
    apis: [],
    events,
    logDir,
    stop,
    start,
    restart: async (p, kind = 'sigterm') => {
      await stop(p, kind);
      await start(p);
    },
    close: async () => {
      open.delete(fleet);
      await Promise.all(all.map((p) => stop(p, 'sigterm').catch(() => p.managed.stop('sigkill'))));
      all.forEach((p) => p.managed.close());
      rmSync(root, { recursive: true, force: true });
    },
  };
  open.add(fleet);
  try {
    for (let n = 1; n <= (options.workers ?? 1); n++) fleet.workers.push(await make('worker', n));
    for (let n = 1; n <= (options.apis ?? 1); n++) fleet.apis.push((await make('api', n)) as FleetApi);
    all.push(...fleet.workers, ...fleet.apis);
    // Workers in parallel (each bundles its workflows), then the APIs.
    await Promise.all(fleet.workers.map(start));
    await Promise.all(fleet.apis.map(start));
    return fleet;
  } catch (error) {
    await fleet.close().catch(() => undefined); // the start-up error is the one to report
    throw error;
  }
}

/** Stops every fleet a test file left running (test/setup/close-fixtures.ts, after its last test). */
export async function closeHeraldFleets(): Promise<void> {
  for (const fleet of [...open]) await fleet.close();
}

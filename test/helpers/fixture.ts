/**
 * The one fixture of the integration tests: a Herald (worker, optionally the API) wired by the same
 * openResources() as the real processes, on a task queue of its own, with a temp data directory, and a
 * downstream HTTP server on 127.0.0.1. Everything it started closes in reverse order with close(), and
 * at the end of the test file whatever happens (test/setup/close-fixtures.ts), even after a failed test
 * or a start-up that failed half-way.
 */
import type { Logger } from 'pino';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HeraldConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { CloseStack } from '../../src/runtime/close-stack';
import { openResources, type RunningWorker } from '../../src/runtime/resources';
import { TEST_API_ENV, testApi, type TestApi } from './api';
import { startDownstream, type Downstream } from './downstream';
import { eventually } from './eventually';
import { TEST_ENV, testHerald, uniqueId, type TestHerald } from './herald';

const ROOT = join(__dirname, '..', '..');

export interface FixtureOptions {
  /** Variables over TEST_ENV for everything this fixture starts. */
  env?: Record<string, string>;
  /** Run a worker in this process (default); false when the test runs worker processes itself. */
  worker?: boolean;
  /** Serve the API too. */
  api?: boolean;
  /** Replaces the silent logger, for tests that read what Herald logs. */
  logger?: Logger;
  /** Replaces the global setup's workflow bundle (a test with tracing on bundles the tracing interceptors). */
  workflowBundle?: { code: string } | { codePath: string };
}

/** The real worker entry running as a child process. */
export interface WorkerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Its log lines so far (JSON, parsed). */
  logs(): Record<string, unknown>[];
  /** Everything it wrote so far, stdout and stderr, as written. */
  output(): string;
  /** Resolves with the exit code once it exited. */
  exited: Promise<number | null>;
}

export interface HeraldFixture {
  /** The client and stores (and the worker, unless `worker: false`). */
  herald: TestHerald;
  /** The API (only with `api: true`). */
  readonly api: TestApi;
  /** The in-process worker (absent with `worker: false`). */
  worker?: RunningWorker;
  downstream: Downstream;
  /** This fixture's configuration with `env` over it (same task queue, data directory and Temporal). */
  config(env?: Record<string, string>): HeraldConfig;
  /** Another API process's worth (own connection and stores) on this fixture's config with `env` over it. */
  startApi(env?: Record<string, string>): Promise<TestApi>;
  /** Runs `src/worker.ts` as a child process on this fixture's config; resolves once it polls. */
  startWorkerProcess(env?: Record<string, string>): Promise<WorkerProcess>;
  /** Runs `src/api-server.ts` as a child process on this fixture's config (any free port); resolves once it listens. */
  startApiProcess(env?: Record<string, string>): Promise<WorkerProcess & { url: string }>;
  /** Closes everything it started, newest first (also done at the end of the test file). */
  close(): Promise<void>;
}

/** What every fixture started and has not closed yet. */
const open = new Set<CloseStack>();

/** Starts a Herald, and a downstream server, for a test file or a describe block. */
export async function startFixture(options: FixtureOptions = {}): Promise<HeraldFixture> {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS;
  const codePath = process.env.HERALD_TEST_WORKFLOW_BUNDLE;
  if (!address || !codePath) throw new Error('the jest global setup did not start Temporal');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const env: Record<string, string> = {
    ...TEST_ENV,
    ...TEST_API_ENV,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: process.env.HERALD_TEST_NAMESPACE ?? 'default',
    HERALD_TASK_QUEUE: uniqueId('herald-test'),
    HERALD_DATA_DIR: dataDir,
    ...options.env,
  };
  const config = (more: Record<string, string> = {}) => loadConfig({ ...env, ...more });
  const logger = options.logger ?? createLogger(env.LOG_LEVEL ?? 'silent');
  const stack = new CloseStack(logger);
  open.add(stack);
  stack.push('data directory', () => rmSync(dataDir, { recursive: true, force: true }));
  try {
    const resources = await openResources(config(), {
      logger,
      worker: options.worker === false ? false : { workflowBundle: options.workflowBundle ?? { codePath } },
      api: options.api ?? false,
    });
    stack.push('herald', () => resources.close());
    const api = resources.api && testApi(resources.api, resources.config, () => resources.close());
    const downstream = await startDownstream();
    stack.push('downstream', () => downstream.close());
    return {
      herald: testHerald(resources),
      worker: resources.worker,
      get api(): TestApi {
        if (!api) throw new Error('this fixture has no API: start it with { api: true }');
        return api;
      },
      downstream,
      config,
      async startApi(more = {}) {
        const apiConfig = config(more);
        const other = await openResources(apiConfig, { logger, api: true });
        stack.push('another api', () => other.close());
        return testApi(other.api, apiConfig, () => other.close());
      },
      async startApiProcess(more = {}) {
        const api = spawnWorker({ ...env, LOG_LEVEL: 'info', HERALD_API_PORT: '0', ...more }, 'src/api-server.ts');
        stack.push('api process', () => stopChild(api));
        const listening = () => api.logs().find((line) => line.msg === 'API listening');
        await eventually(() => listening() !== undefined, { what: 'the API process to listen', timeoutMs: 60_000 });
        return { ...api, url: String(listening()!.url) };
      },
      async startWorkerProcess(more = {}) {
        const worker = spawnWorker({ ...env, LOG_LEVEL: 'info', ...more });
        stack.push('worker process', () => stopChild(worker));
        await eventually(() => worker.logs().some((line) => line.msg === 'worker started'), {
          what: 'the worker process to poll',
          timeoutMs: 60_000,
        });
        return worker;
      },
      close: () => closeStack(stack),
    };
  } catch (error) {
    await closeStack(stack).catch(() => undefined); // the start-up error is the one to report
    throw error;
  }
}

function closeStack(stack: CloseStack): Promise<void> {
  open.delete(stack);
  return stack.close();
}

/** Closes everything fixtures started and did not close (the setup file runs this after each test file). */
export async function closeFixtures(): Promise<void> {
  for (const stack of [...open].reverse()) await closeStack(stack);
}

function spawnWorker(env: Record<string, string>, entry = 'src/worker.ts'): WorkerProcess {
  // node with tsx's loader, not `npx tsx` (whose own process would stand between the signal and the worker).
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  void exited.then((code) => {
    if (code !== 0 && stderr) console.error(`worker process exited with ${code}:\n${stderr}`);
  });
  return { child, logs, output: () => stdout + stderr, exited };
}

async function stopChild(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGKILL');
  await worker.exited;
}

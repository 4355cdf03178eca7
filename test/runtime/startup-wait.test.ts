/**
 * Temporal down at start-up: a real worker process waits for it (retrying, not exiting) and an API
 * listens at once with /readyz 503; once a Temporal dev server comes up on that port, the worker polls,
 * /readyz turns 200 and a message is delivered.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { openResources, type HeraldResources } from '../../src/runtime/resources';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { findTemporalCli } from '../../src/temporal/temporal-cli';
import { TEST_API_ENV } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { TEST_ENV, testHerald, uniqueId } from '../helpers/herald';
import { freePort } from '../../scripts/free-port';

const ROOT = join(__dirname, '..', '..');

let dataDir: string;
let devServer: DevServer | undefined;
let api: HeraldResources | undefined;
let downstream: Downstream | undefined;
let worker: ReturnType<typeof spawn> | undefined;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'herald-startup-'));
});

afterAll(async () => {
  // Also after a failure: no process and no dev server left behind.
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }
  await api?.close().catch(() => undefined);
  await downstream?.close();
  await devServer?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a worker and an API started before Temporal wait for it, then deliver', async () => {
  const port = await freePort();
  const env: Record<string, string> = {
    ...TEST_ENV,
    ...TEST_API_ENV,
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    TEMPORAL_NAMESPACE: 'default',
    HERALD_TASK_QUEUE: uniqueId('herald-startup'),
    HERALD_DATA_DIR: join(dataDir, 'herald'),
  };
  downstream = await startDownstream();

  // The API opens at once, though nothing listens on the Temporal port.
  api = await openResources(loadConfig(env), { logger: createLogger('silent'), api: true });
  const url = api.api!.url;
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const notReady = await fetch(`${url}/readyz`);
  expect(notReady.status).toBe(503);
  const notReadyBody = (await notReady.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
  expect(notReadyBody.checks.temporal).toEqual({
    ok: false,
    detail: expect.stringContaining('Temporal is not reachable'),
  });
  expect(notReadyBody.checks.deadLetterStore).toEqual({ ok: true });

  // node with tsx's loader, as the fixture runs the worker entry.
  let stdout = '';
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
  });
  worker.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  worker.stderr!.on('data', () => undefined);
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const retries = await eventually(
    () => logs().filter((line) => line.msg === 'start-up: Temporal not available, retrying'),
    { until: (lines) => lines.length >= 2, what: 'the worker to retry Temporal', timeoutMs: 30_000 },
  );
  expect(retries[0]).toMatchObject({ level: 40, dependency: 'Temporal', retry: 1, nextDelayMs: expect.any(Number) });
  expect(worker.exitCode).toBeNull();

  const cli = findTemporalCli({ log: () => undefined });
  devServer = await startDevServer({
    cliPath: cli.path,
    port,
    uiPort: await freePort(),
    namespace: 'default',
    dataDir: join(dataDir, 'temporal'),
    log: () => undefined,
  });

  await eventually(() => logs().some((line) => line.msg === 'worker started'), {
    what: 'the worker to poll',
    timeoutMs: 90_000,
  });
  await eventually(() => fetch(`${url}/readyz`).then((response) => response.status), {
    until: (status) => status === 200,
    what: '/readyz to answer 200',
    timeoutMs: 30_000,
  });

  downstream.script('/late', [{ status: 200 }]);
  const herald = testHerald(api);
  const id = uniqueId('late');
  await herald.send({ id, destination: { url: downstream.url('/late') }, body: { late: true } });
  const status = await herald.waitForState(id, 'delivered', 30_000);
  expect(status.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status: 200 })]);
  expect(downstream.requests('/late')).toHaveLength(1);

  const exited = new Promise((resolve) => worker!.once('exit', resolve));
  worker.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 180_000);

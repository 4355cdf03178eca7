/**
 * A busy HERALD_METRICS_PORT fails a worker's start at once: a real worker process (`npm run worker`, and
 * `npm start` against a cluster), pointed at a TCP server standing in for Temporal, exits 1 with the port
 * and the variable named, and never connected to "Temporal" (so it never polled). Before the listener
 * bound first, the worker waited for Temporal, connected, polled, and only then found the port taken.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_API_ENV } from '../helpers/api';
import { TEST_ENV, uniqueId } from '../helpers/herald';

const ROOT = join(__dirname, '..', '..');

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

let dataDir: string;
const sockets: Socket[] = [];
let connections = 0;
const fakeTemporal = createServer((socket) => {
  connections++;
  sockets.push(socket);
});
const squatter = createServer();
const workers: ReturnType<typeof spawn>[] = [];

let temporalPort: number;
let busyPort: number;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'herald-metrics-port-'));
  temporalPort = await listen(fakeTemporal);
  busyPort = await listen(squatter);
});

afterAll(async () => {
  for (const worker of workers.filter((child) => child.exitCode === null && child.signalCode === null)) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }
  for (const socket of sockets) socket.destroy();
  await Promise.all([fakeTemporal, squatter].filter((s) => s.listening).map(close));
  rmSync(dataDir, { recursive: true, force: true });
});

test.each([
  ['npm run worker', 'src/worker.ts'],
  ['npm start', 'src/main.ts'],
])('%s with its metrics port taken exits 1 naming it, before it connects to Temporal', async (_name, entry) => {
  let stdout = '';
  let stderr = '';
  const worker = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...TEST_ENV,
      ...TEST_API_ENV,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_NAMESPACE: 'default',
      HERALD_TASK_QUEUE: uniqueId('herald-metrics-port'),
      HERALD_DATA_DIR: join(dataDir, entry),
      HERALD_API_PORT: '0',
      HERALD_METRICS_PORT: String(busyPort),
      HERALD_METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
  });
  workers.push(worker);
  worker.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => worker.once('exit', (exitCode) => resolve(exitCode)));

  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; err?: { message?: string } });
  const message = `HERALD_METRICS_PORT ${busyPort} on 127.0.0.1 is in use: set another port, 0 for any free one, or off`;
  expect(code).toBe(1);
  // The worker entry logs it as JSON; `npm start` prints it on stderr.
  if (entry === 'src/worker.ts') {
    expect(logs.find((line) => line.msg === 'failed to start')?.err?.message).toBe(message);
  } else {
    expect(stderr).toContain(`[herald] Error: ${message}`);
  }
  expect(logs.some((line) => line.msg === 'worker started')).toBe(false);
  expect(connections).toBe(0);
});

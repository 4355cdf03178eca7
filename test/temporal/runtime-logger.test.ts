/**
 * The SDK's exporter port is chosen free and then bound by the SDK, so another process can take it in
 * between: the install tries another port, and the SDK's metrics answer there. Once per file, since
 * the Runtime can be installed once per process (each test file has its own module registry).
 */
import { createServer, type Server } from 'node:net';
import pino from 'pino';
import { freeLoopbackPort, installRuntimeLogger, SDK_EXPORTER_ATTEMPTS } from '../../src/temporal/runtime-logger';

const squatter: Server = createServer();

afterAll(() => new Promise<void>((resolve) => (squatter.listening ? squatter.close(() => resolve()) : resolve())));

test('a port taken before the SDK binds it is replaced by another, and the SDK’s metrics answer there', async () => {
  const taken = await new Promise<number>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(0, '127.0.0.1', () => resolve((squatter.address() as { port: number }).port));
  });
  const lines: { level: number; msg: string; port?: number }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const picked: number[] = [];
  // The race, made certain: the first port "chosen free" is one another process holds.
  const pickPort = async () => {
    const port = picked.length === 0 ? taken : await freeLoopbackPort();
    picked.push(port);
    return port;
  };

  const url = await installRuntimeLogger(logger, { sdkMetrics: true, pickPort });

  expect(SDK_EXPORTER_ATTEMPTS).toBeGreaterThan(1);
  expect(picked).toHaveLength(2);
  expect(url).toBe(`http://127.0.0.1:${picked[1]}/metrics`);
  expect((await fetch(url!)).status).toBe(200);
  expect(lines).toEqual([
    expect.objectContaining({
      msg: `the Temporal SDK's metrics port 127.0.0.1:${taken} was taken before the SDK could bind it`,
      port: taken,
    }),
  ]);
  // Installed once: a second call answers the same address and installs nothing.
  await expect(installRuntimeLogger(logger, { sdkMetrics: true, pickPort })).resolves.toBe(url);
  expect(picked).toHaveLength(2);
});

/**
 * Start-up wired once: openResources opens the client, stores, worker and API, and one close() closes
 * them newest first, going on past a failure or a hang and saying so in the log.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { request } from 'undici';
import { CloseError, CloseStack, CloseTimeoutError } from '../../src/runtime/close-stack';
import { openResources } from '../../src/runtime/resources';
import { startFixture, type HeraldFixture } from '../helpers/fixture';

/** A logger that keeps its lines. */
function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const closedNames = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.msg === 'closed' || line.msg === 'failed to close').map((line) => line.resource);

describe('CloseStack', () => {
  test('closes newest first, each step once', async () => {
    const { logger, lines } = recordingLogger();
    const stack = new CloseStack(logger);
    const order: string[] = [];
    for (const name of ['connection', 'store', 'worker', 'api']) stack.push(name, () => order.push(name));
    await Promise.all([stack.close(), stack.close()]);
    await stack.close();
    expect(order).toEqual(['api', 'worker', 'store', 'connection']);
    expect(closedNames(lines)).toEqual(['api', 'worker', 'store', 'connection']);
    expect(() => stack.push('late', () => undefined)).toThrow('cannot open late while closing');
  });

  test('a failed or hung step is logged, the others still close, and close() rejects at the end', async () => {
    const { logger, lines } = recordingLogger();
    const stack = new CloseStack(logger);
    const closed: string[] = [];
    stack.push('connection', () => closed.push('connection'));
    stack.push('store', () => {
      throw new Error('disk gone');
    });
    stack.push('api', () => new Promise(() => undefined), { timeoutMs: 50 });
    stack.push('worker', async () => {
      closed.push('worker');
    });

    const closing = stack.close();
    await expect(closing).rejects.toBeInstanceOf(CloseError);
    await expect(closing).rejects.toMatchObject({
      message: '2 of 4 resources failed to close',
      errors: [expect.any(CloseTimeoutError), expect.objectContaining({ message: 'disk gone' })],
    });
    expect(closed).toEqual(['worker', 'connection']);
    const failures = lines.filter((line) => line.msg === 'failed to close');
    expect(failures).toEqual([
      expect.objectContaining({
        level: 50,
        resource: 'api',
        err: expect.objectContaining({ type: 'CloseTimeoutError', message: 'api did not close within 50 ms' }),
      }),
      expect.objectContaining({ level: 50, resource: 'store', err: expect.objectContaining({ message: 'disk gone' }) }),
    ]);
    expect(closedNames(lines)).toEqual(['worker', 'api', 'store', 'connection']);
  });
});

describe('openResources', () => {
  /** Newest first: the API stops taking requests, the worker drains, then what they used. */
  const CLOSE_ORDER = [
    'api',
    'retention',
    'ended-run sweeper',
    'worker',
    'close-out watcher',
    'temporal worker connection',
    'dead-letter store and event log',
    'temporal client connection',
  ];

  let fixture: HeraldFixture;

  beforeAll(async () => {
    // No fixture worker: the worker under test is the only one on this task queue.
    fixture = await startFixture({ worker: false });
  });

  test('opens a polling worker and a listening API; close() closes everything in reverse order', async () => {
    const { logger, lines } = recordingLogger();
    const resources = await openResources(fixture.config(), {
      logger,
      worker: { workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! } },
      api: true,
    });
    const ready = await request(`${resources.api.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({ checks: { worker: { ok: true } } });
    expect(resources.worker.worker.getState()).toBe('RUNNING');

    await resources.close();
    expect(closedNames(lines)).toEqual(CLOSE_ORDER);
    expect(resources.worker.worker.getState()).toBe('STOPPED');
    await expect(request(`${resources.api.url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(resources.store.list({})).rejects.toThrow('The database connection is not open');
    await resources.close(); // a second close is a no-op
  });

  test('a start-up that fails half-way closes what it had opened and rejects with the cause', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const { logger, lines } = recordingLogger();
      const opening = openResources(fixture.config({ HERALD_API_PORT: String(port) }), {
        logger,
        worker: { workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! } },
        api: true,
      });
      await expect(opening).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(closedNames(lines)).toEqual(CLOSE_ORDER);
      expect(lines.filter((line) => line.msg === 'failed to close')).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

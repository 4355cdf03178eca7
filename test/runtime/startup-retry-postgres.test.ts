/**
 * Start-up and PostgreSQL: a server not accepting connections yet is waited for; a bad password, a
 * missing database or a schema too new fail at once. Against real servers (the run's, and one started
 * late on purpose).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { isPostgresUnavailable, isStoreUnavailable, retryStartup } from '../../src/runtime/startup-retry';
import { freePort, openTestStores, startPostgres, type RunningPostgres } from '../helpers/postgres';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

const serverUrl = () => new URL(process.env.HERALD_TEST_POSTGRES_URL!);

test('which PostgreSQL errors are worth waiting out', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });
  for (const code of [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    '57P03',
    '57P01',
    '53300',
    '08006',
  ]) {
    expect([code, isPostgresUnavailable(coded(code))]).toEqual([code, true]);
  }
  for (const code of ['28P01', '28000', '3D000', '42P01', '42883', 'SQLITE_NOTADB']) {
    expect([code, isPostgresUnavailable(coded(code))]).toEqual([code, false]);
  }
  expect(isPostgresUnavailable(new Error('no code'))).toBe(false);
  expect(isPostgresUnavailable(undefined)).toBe(false);
  expect(isStoreUnavailable(coded('SQLITE_BUSY'))).toBe(true);
  expect(isStoreUnavailable(coded('ECONNREFUSED'))).toBe(true);
});

test('a bad password fails at once, without a retry', async () => {
  const url = serverUrl();
  url.password = 'not-the-password';
  const { logger, lines } = capturingLogger();
  const failed = await retryStartup('stores', () => openTestStores(url.toString()), {
    logger,
    timeoutMs: 0,
    isRetryable: isStoreUnavailable,
  }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: '28P01' });
  expect(lines).toEqual([]);
});

test('a database that does not exist fails at once', async () => {
  const url = serverUrl();
  url.pathname = '/no_such_database';
  const { logger, lines } = capturingLogger();
  await expect(
    retryStartup('stores', () => openTestStores(url.toString()), {
      logger,
      timeoutMs: 0,
      isRetryable: isStoreUnavailable,
    }),
  ).rejects.toMatchObject({ code: '3D000' });
  expect(lines).toEqual([]);
});

describe('a PostgreSQL that starts after Herald', () => {
  let late: RunningPostgres | undefined;
  afterAll(() => late?.stop());

  test('start-up retries until it accepts connections, then migrates and opens', async () => {
    const port = await freePort();
    const url = serverUrl();
    url.port = String(port);
    const { logger, lines } = capturingLogger();
    const opening = retryStartup('stores', () => openTestStores(url.toString()), {
      logger,
      timeoutMs: 0,
      isRetryable: isStoreUnavailable,
    });
    // Nothing listens there yet: the first attempts are refused.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({
      level: 40,
      dependency: 'stores',
      err: expect.objectContaining({ code: 'ECONNREFUSED' }),
    });
    late = await startPostgres({ port });
    const stores = await opening;
    try {
      await expect(stores.store.ping()).resolves.toBeUndefined();
      expect(stores.kind).toBe('postgres');
    } finally {
      await stores.close();
    }
  });
});

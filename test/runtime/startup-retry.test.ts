/** Start-up retries: the backoff, the timeout, and a store file another process holds locked. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { isSqliteBusy } from '../../src/store/store-errors';
import { retryStartup, startupRetryDelay, StartupTimeoutError, STARTUP_BACKOFF } from '../../src/runtime/startup-retry';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';

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

describe('startupRetryDelay', () => {
  test('doubles from the initial delay up to the cap, jittered both ways', () => {
    expect([1, 2, 3, 4].map((retry) => startupRetryDelay(retry, 0.5))).toEqual([250, 500, 1000, 2000]);
    expect(startupRetryDelay(30, 0.5)).toBe(STARTUP_BACKOFF.maximumMs);
    expect(startupRetryDelay(1, 0)).toBe(200);
    expect(startupRetryDelay(1, 1)).toBe(300);
    expect(startupRetryDelay(30, 1)).toBe(12_000);
  });
});

describe('retryStartup', () => {
  test('retries until the dependency opens, logging each retry at warn with the next delay', async () => {
    const { logger, lines } = capturingLogger();
    const slept: number[] = [];
    let calls = 0;
    const value = await retryStartup(
      'Temporal',
      () => {
        calls++;
        if (calls < 3) throw new Error('connection refused');
        return 'open';
      },
      { logger, timeoutMs: 0, random: () => 0.5, sleep: async (ms) => void slept.push(ms) },
    );
    expect(value).toBe('open');
    expect(slept).toEqual([250, 500]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, dependency: 'Temporal', retry: 1, nextDelayMs: 250 }),
      expect.objectContaining({ level: 40, dependency: 'Temporal', retry: 2, nextDelayMs: 500 }),
    ]);
  });

  test('gives up after the start-up timeout with the last error as the cause', async () => {
    const { logger } = capturingLogger();
    const refused = new Error('connection refused');
    const failing = retryStartup(
      'Temporal',
      () => {
        throw refused;
      },
      { logger, timeoutMs: 600, random: () => 0.5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
    );
    await expect(failing).rejects.toBeInstanceOf(StartupTimeoutError);
    await expect(failing).rejects.toMatchObject({ cause: refused });
  });

  test('throws at once an error it is not told to wait out', async () => {
    const { logger, lines } = capturingLogger();
    const corrupt = Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });
    await expect(
      retryStartup(
        'dead-letter store',
        () => {
          throw corrupt;
        },
        { logger, timeoutMs: 0, isRetryable: isSqliteBusy },
      ),
    ).rejects.toBe(corrupt);
    expect(lines).toEqual([]);
  });
});

describe('a store file locked by another process', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'herald-busy-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the store and the event log open once the lock is released (~1 s later)', async () => {
    const path = join(dir, 'dead-letters.sqlite');
    const holder = new Database(path);
    holder.exec('CREATE TABLE held (x INTEGER)');
    holder.exec('BEGIN EXCLUSIVE');
    // Opened while the lock is held, with a short lock wait, the WAL switch fails as in the chaos run.
    expect(() => openSqliteDeadLetterStore(path, { busyTimeoutMs: 50 })).toThrow(
      expect.objectContaining({ code: 'SQLITE_BUSY' }),
    );
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        holder.exec('COMMIT');
        holder.close();
        resolve();
      }, 1_000),
    );
    const { logger, lines } = capturingLogger();
    const options = { logger, timeoutMs: 0, isRetryable: isSqliteBusy };
    const startedAt = Date.now();
    const store = await retryStartup(
      'dead-letter store',
      () => openSqliteDeadLetterStore(path, { busyTimeoutMs: 50 }),
      options,
    );
    const events = await retryStartup('event log', () => openSqliteEventLog(path, { busyTimeoutMs: 50 }), options);
    await released;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 40, dependency: 'dead-letter store', retry: 1 });
    expect(lines[0]!.nextDelayMs).toEqual(expect.any(Number));
    await expect(store.ping()).resolves.toBeUndefined();
    await events.append({
      messageId: 'msg_busy',
      runId: 'run',
      seq: 1,
      state: 'queued',
      destination: 'http://x',
      sender: null,
      at: new Date().toISOString(),
    });
    expect(await events.lastId()).toBe(1);
    await events.close();
    await store.close();
  });
});

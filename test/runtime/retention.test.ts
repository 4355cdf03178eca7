/** Retention passes over real stores: bounded batches until done, 0 keeps all, periodic runs that stop cleanly. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { runRetentionPass, startRetention } from '../../src/runtime/retention';
import type { DeadLetterStore } from '../../src/store/dead-letter-store';
import type { EventLog } from '../../src/store/event-log';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import { eventually } from '../helpers/eventually';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW - days * DAY).toISOString();

let dir: string;
let store: DeadLetterStore;
let events: EventLog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-retention-'));
  store = openSqliteDeadLetterStore(join(dir, 'dl.sqlite'));
  events = openSqliteEventLog(join(dir, 'dl.sqlite'));
});
afterEach(async () => {
  await events.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function seed(decidedDaysAgo: number, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    await store.put({
      id,
      message: { id, destination: { url: 'https://api.example.com/hook' }, body: null },
      reason: 'permanent_error',
      lastError: null,
      attempts: [],
      round: 1,
      destination: 'api.example.com',
      messageCreatedAt: daysAgo(decidedDaysAgo + 1),
      deadLetteredAt: daysAgo(decidedDaysAgo + 1),
    });
    if (i % 2 === 0) await store.markRedriven(id, 1, daysAgo(decidedDaysAgo));
    else await store.markDiscarded(id, daysAgo(decidedDaysAgo));
    await events.append({
      messageId: id,
      runId: 'r',
      seq: 1,
      state: 'accepted',
      destination: 'api.example.com',
      sender: null,
      at: daysAgo(decidedDaysAgo),
    });
  }
}

const retention = { deadLetterRecordsMs: 30 * DAY, eventsMs: 7 * DAY, intervalMs: 3_600_000 };

test('a pass deletes everything past retention in batches, pausing between them, and keeps the rest', async () => {
  await seed(40, 25, 'old'); // past both retentions
  await seed(10, 5, 'mid'); // events past 7d, records within 30d
  await seed(1, 5, 'new');
  const calls: number[] = [];
  const counting: Pick<DeadLetterStore, 'prune'> = {
    prune: async (olderThan, size) => {
      const deleted = await store.prune(olderThan, size);
      calls.push(deleted);
      return deleted;
    },
  };
  const startedAt = Date.now();
  const pass = await runRetentionPass({
    store: counting,
    events,
    retention,
    batchSize: 10,
    pauseMs: 50,
    now: () => NOW,
  });
  expect(pass).toEqual({ deadLetters: 25, events: 30, blobs: 0 });
  // 10, 10, 5: two pauses between three batches, then it stops (the last batch was short).
  expect(calls).toEqual([10, 10, 5]);
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(100);
  expect((await store.list({ limit: 500 })).records.map((r) => r.id.split('-')[0]).sort()).toEqual([
    ...Array(5).fill('mid'),
    ...Array(5).fill('new'),
  ]);
  expect((await events.read({ afterId: 0 })).map((e) => e.messageId.split('-')[0])).toEqual(Array(5).fill('new'));
  expect(await runRetentionPass({ store, events, retention, now: () => NOW })).toEqual({
    deadLetters: 0,
    events: 0,
    blobs: 0,
  });
});

test('a retention of 0 keeps everything', async () => {
  await seed(400, 3, 'ancient');
  const pass = await runRetentionPass({
    store,
    events,
    retention: { ...retention, deadLetterRecordsMs: 0, eventsMs: 0 },
    now: () => NOW,
  });
  expect(pass).toEqual({ deadLetters: 0, events: 0, blobs: 0 });
  expect((await store.list()).records).toHaveLength(3);
});

test('startRetention runs passes on its interval, logs what it deleted, and stop() waits for the pass in flight', async () => {
  await seed(40, 3, 'old');
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    }),
  );
  let passes = 0;
  const running = startRetention({
    store: { prune: (olderThan, size) => ((passes += 1), store.prune(olderThan, size)) },
    events,
    retention: { ...retention, intervalMs: 50 },
    logger,
    firstPassMs: 10,
    now: () => NOW,
  });
  await eventually(() => passes, { until: (n) => n >= 3, what: 'three passes' });
  await running.stop();
  const after = passes;
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(passes).toBe(after);
  expect(lines.filter((l) => l.msg === 'retention: deleted old records')).toEqual([
    expect.objectContaining({ deadLetterRecords: 3, events: 3 }),
  ]);
});

test('a failing pass is logged and the next one still runs', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    }),
  );
  let calls = 0;
  const running = startRetention({
    store: {
      prune: async () => {
        calls += 1;
        if (calls === 1) throw new Error('database down');
        return 0;
      },
    },
    events,
    retention: { ...retention, intervalMs: 30 },
    logger,
    firstPassMs: 5,
  });
  await eventually(() => calls, { until: (n) => n >= 2, what: 'a second pass' });
  await running.stop();
  expect(lines[0]).toMatchObject({ level: 40, msg: 'retention pass failed; the next one will try again' });
});

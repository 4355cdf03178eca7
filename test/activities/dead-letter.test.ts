/** The deadLetter activity against a real SQLite store: a retried call never makes two records. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeadLetterActivities } from '../../src/activities/dead-letter';
import { createWorkerMetrics } from '../../src/observability/worker-metrics';
import { createLogger } from '../../src/observability/logger';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';

test('deadLetter is idempotent per message and round; markRedriven and markDiscarded update the record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dl-'));
  const store = openSqliteDeadLetterStore(join(dir, 'dl.sqlite'));
  try {
    const activities = createDeadLetterActivities({
      store,
      logger: createLogger('silent'),
      metrics: createWorkerMetrics({ maxDestinations: 10 }),
    });
    const input = {
      id: 'msg_retried',
      message: { id: 'msg_retried', destination: { url: 'https://example.com/' } },
      reason: 'max_attempts_exhausted' as const,
      lastError: { type: 'RetryableDeliveryError', message: 'destination answered HTTP 503' },
      attempts: [],
      round: 1,
      destination: 'example.com',
      messageCreatedAt: '2026-11-24T10:00:00.000Z',
      deadLetteredAt: '2026-11-24T10:05:00.000Z',
    };
    expect(await activities.deadLetter(input)).toEqual({ created: true });
    expect(await activities.deadLetter({ ...input, deadLetteredAt: '2026-11-24T10:05:09.000Z' })).toEqual({
      created: false,
    });
    expect((await store.list()).records).toHaveLength(1);
    expect((await store.get('msg_retried'))?.deadLetteredAt).toBe('2026-11-24T10:05:00.000Z');
    await activities.markRedriven({ id: 'msg_retried', round: 1, at: '2026-11-24T11:00:00.000Z' });
    expect((await store.get('msg_retried'))?.state).toBe('redriven');
    await activities.deadLetter({ ...input, round: 2 });
    await activities.markDiscarded({ id: 'msg_retried', at: '2026-11-24T12:00:00.000Z' });
    expect(await store.get('msg_retried')).toMatchObject({ state: 'discarded', round: 2 });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

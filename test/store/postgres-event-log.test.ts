/**
 * The PostgreSQL event log: the contract on a real PostgreSQL, ids visible in commit order under
 * concurrent appends, NOTIFY in the append's transaction, and a LISTEN connection that comes back.
 */
import { Client } from 'pg';
import type { EventLog, NewMessageEvent } from '../../src/store/event-log';
import type { createPostgresEventLog } from '../../src/store/postgres-event-log';
import { EVENTS_CHANNEL } from '../../src/store/postgres-migrations';
import { eventually } from '../helpers/eventually';
import { createTestDatabase, emptyHeraldTables, openTestStores, sqlOn } from '../helpers/postgres';
import { describeEventLog } from './event-log.contract';

type PostgresEventLog = ReturnType<typeof createPostgresEventLog>;

let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
});

/** The event log of one process's stores: its close() ends their pool and LISTEN connection. */
async function logOnItsOwnPool(): Promise<PostgresEventLog> {
  const stores = await openTestStores(url);
  const events = stores.events as PostgresEventLog;
  return { ...events, close: () => stores.close() };
}

describeEventLog('PostgreSQL', {
  open: async () => {
    const log = await logOnItsOwnPool();
    await emptyHeraldTables(url);
    return log;
  },
  openAnother: logOnItsOwnPool,
});

function event(messageId: string, seq: number, state = `s${seq}`): NewMessageEvent {
  return {
    messageId,
    runId: 'run-1',
    seq,
    state,
    destination: 'api.example.com',
    sender: 'ci',
    at: new Date().toISOString(),
  };
}

describe('PostgreSQL only', () => {
  const logs: EventLog[] = [];
  const open = async () => {
    const log = await logOnItsOwnPool();
    logs.push(log);
    return log;
  };
  beforeEach(() => emptyHeraldTables(url));
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
  });

  test('an append in flight holds back later ones: no id becomes visible before a smaller one', async () => {
    const log = await open();
    await log.append(event('before', 1));
    const before = await log.lastId();
    // Another process's append, stopped between taking its id and committing.
    const slow = new Client({ connectionString: url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      const { rows } = await slow.query<{ appended_id: string }>(
        'SELECT appended_id FROM herald_append_event($1, $2, $3, $4, $5, $6, $7)',
        ['slow', 'run-1', 1, 'accepted', 'api.example.com', 'ci', new Date().toISOString()],
      );
      const slowId = Number(rows[0]!.appended_id);
      let fastDone = false;
      const fast = log.append(event('fast', 1)).then(() => (fastDone = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The later append waits; a reader tailing after `before` sees nothing it could skip past.
      expect(fastDone).toBe(false);
      expect(await log.read({ afterId: before })).toEqual([]);
      await slow.query('COMMIT');
      await fast;
      const read = await log.read({ afterId: before });
      expect(read.map((e) => [e.messageId, e.id])).toEqual([
        ['slow', slowId],
        ['fast', expect.any(Number)],
      ]);
      expect(read[1]!.id).toBeGreaterThan(slowId);
    } finally {
      await slow.end();
    }
  });

  test('tailing readers miss nothing while four processes append at once', async () => {
    const writers = await Promise.all([open(), open(), open(), open()]);
    const reader = await open();
    const perWriter = 60;
    let done = false;
    const seen: number[] = [];
    // Reads as fast as it can, resuming after the last id it saw, as an event stream does.
    const tail = (async () => {
      let afterId = 0;
      for (;;) {
        const finished = done;
        const batch = await reader.read({ afterId, limit: 50 });
        for (const e of batch) seen.push(e.id);
        if (batch.length > 0) afterId = batch[batch.length - 1]!.id;
        else if (finished) return;
      }
    })();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let seq = 1; seq <= perWriter; seq++) await writer.append(event(`w${w}`, seq));
      }),
    );
    done = true;
    await tail;
    const all = (await reader.read({ afterId: 0, limit: 10_000 })).map((e) => e.id);
    expect(all).toHaveLength(4 * perWriter);
    expect(seen).toEqual(all);
  });

  test('each append notifies herald_events with its id, once, and only when it commits', async () => {
    const log = await open();
    const listener = new Client({ connectionString: url });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
    try {
      await log.append(event('m', 1));
      await log.append(event('m', 1)); // the same event again: nothing new, no notification
      await log.append(event('m', 2));
      const ids = (await log.read({ afterId: 0 })).map((e) => String(e.id));
      await eventually(() => payloads.length >= 2, { what: 'two notifications' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(payloads).toEqual(ids);
      // A rolled-back append notifies nobody.
      const aborted = new Client({ connectionString: url });
      await aborted.connect();
      await aborted.query('BEGIN');
      await aborted.query('SELECT * FROM herald_append_event($1, $2, $3, $4, $5, $6, $7)', [
        'm',
        'run-1',
        3,
        'x',
        'h',
        null,
        new Date().toISOString(),
      ]);
      await aborted.query('ROLLBACK');
      await aborted.end();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(payloads).toEqual(ids);
    } finally {
      await listener.end();
    }
  });

  test('watch hears appends from another process', async () => {
    const watching = (await open()) as PostgresEventLog;
    const appending = await open();
    let calls = 0;
    watching.watch(() => (calls += 1));
    await watching.listener.listening();
    const before = calls;
    await appending.append(event('elsewhere', 1));
    await eventually(() => calls, { until: (n) => n > before, what: 'a notification from the other log' });
  });

  test('a LISTEN connection terminated by the server comes back, and notifications resume', async () => {
    const watching = (await open()) as PostgresEventLog;
    const appending = await open();
    let calls = 0;
    watching.watch(() => (calls += 1));
    await watching.listener.listening();
    const pid = watching.listener.backendPid();
    expect(pid).toEqual(expect.any(Number));
    const [terminated] = await sqlOn<{ ok: boolean }>(url, 'SELECT pg_terminate_backend($1) AS ok', [pid]);
    expect(terminated?.ok).toBe(true);

    // It reconnects on a new backend (and calls its listeners once: they may have missed something).
    await eventually(() => watching.listener.backendPid(), {
      until: (next) => next !== undefined && next !== pid,
      what: 'the LISTEN connection back on a new backend',
      timeoutMs: 10_000,
    });
    await watching.listener.listening();
    const before = calls;
    await appending.append(event('after-reconnect', 1));
    await eventually(() => calls, { until: (n) => n > before, what: 'a notification after the reconnect' });
    const [listening] = await sqlOn<{ count: string }>(
      url,
      "SELECT count(*)::text AS count FROM pg_stat_activity WHERE application_name = 'herald-listen' AND pid = $1",
      [watching.listener.backendPid()],
    );
    expect(listening?.count).toBe('1');
  });
});

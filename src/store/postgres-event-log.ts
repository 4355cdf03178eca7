/**
 * The event log in PostgreSQL (HERALD_DATABASE_URL): one table every host shares. An append is one
 * call of `herald_append_event` (postgres-migrations.ts), which keeps ids in commit order and notifies
 * `herald_events` in the same transaction; `watch` listens on one dedicated connection per log. The table
 * stays the source of truth: a notification only says "read again", so one lost loses nothing.
 */
import type { ClientConfig, Pool } from 'pg';
import type { Logger } from 'pino';
import {
  EventSeqConflictError,
  type EventLog,
  type EventLogQuery,
  type MessageEvent,
  type MinuteCount,
  type NewMessageEvent,
} from './event-log';
import { EVENTS_CHANNEL } from './postgres-migrations';
import { StoreClosedError } from './postgres-dead-letter-store';
import { createPostgresListener, type PostgresListener } from './postgres-listener';

interface Row {
  id: string;
  message_id: string;
  run_id: string;
  seq: number;
  state: string;
  destination: string;
  sender: string | null;
  at: Date;
}

const COLUMNS = 'id, message_id, run_id, seq, state, destination, sender, at';

// SKIP LOCKED: pruners in several processes delete different rows rather than wait on each other.
const PRUNE = `
DELETE FROM herald_message_events WHERE id IN (
  SELECT id FROM herald_message_events WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

const toEvent = (row: Row): MessageEvent => ({
  // bigint arrives as a string; ids stay far below 2^53.
  id: Number(row.id),
  messageId: row.message_id,
  runId: row.run_id,
  seq: row.seq,
  state: row.state,
  destination: row.destination,
  sender: row.sender,
  at: row.at.toISOString(),
});

export interface PostgresEventLogOptions {
  /** Where the LISTEN connection of `watch` connects (the pool's own settings, usually). */
  listenConnection: ClientConfig;
  logger?: Pick<Logger, 'warn' | 'info'>;
}

/** The event log over `pool` (already migrated). close() stops it and its LISTEN connection, not the pool. */
export function createPostgresEventLog(
  pool: Pool,
  options: PostgresEventLogOptions,
): EventLog & {
  /** The LISTEN connection behind watch() (tests terminate it to show it comes back). */
  readonly listener: PostgresListener;
} {
  let closed = false;
  const query = async <R extends object>(text: string, values: unknown[] = []) => {
    if (closed) throw new StoreClosedError('the event log is closed');
    return pool.query<R>(text, values);
  };
  const listener = createPostgresListener({
    connection: options.listenConnection,
    channel: EVENTS_CHANNEL,
    logger: options.logger,
  });

  return {
    listener,
    async append(event: NewMessageEvent) {
      // An activity can run twice (a worker crash before its result is recorded): the same event again
      // is kept once. Another state under the same number is a conflict, checked under the append lock.
      const { rows } = await query<{ appended_id: string | null; logged_state: string | null }>(
        'SELECT appended_id, logged_state FROM herald_append_event($1, $2, $3, $4, $5, $6, $7)',
        [event.messageId, event.runId, event.seq, event.state, event.destination, event.sender, event.at],
      );
      const row = rows[0];
      if (row && row.appended_id === null && row.logged_state !== null && row.logged_state !== event.state) {
        throw new EventSeqConflictError(event, row.logged_state);
      }
      return { appended: row?.appended_id != null };
    },
    async read(q: EventLogQuery) {
      const values: unknown[] = [q.afterId];
      const where = ['id > $1'];
      if (q.messageId !== undefined) where.push(`message_id = $${values.push(q.messageId)}`);
      if (q.sender !== undefined) where.push(`sender = $${values.push(q.sender)}`);
      const limit = `$${values.push(q.limit ?? 500)}`;
      const { rows } = await query<Row>(
        `SELECT ${COLUMNS} FROM herald_message_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${limit}`,
        values,
      );
      return rows.map(toEvent);
    },
    async latest(messageId: string) {
      const { rows } = await query<Row>(
        `SELECT ${COLUMNS} FROM herald_message_events WHERE message_id = $1 ORDER BY id DESC LIMIT 1`,
        [messageId],
      );
      return rows[0] ? toEvent(rows[0]) : undefined;
    },
    async lastId() {
      const { rows } = await query<{ id: string | null }>('SELECT max(id) AS id FROM herald_message_events');
      return Number(rows[0]?.id ?? 0);
    },
    async countByMinute({ since, sender }) {
      const { rows } = await query<MinuteCount>(
        `SELECT to_char(date_trunc('minute', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI') AS minute, state,
                count(*)::int AS count
           FROM herald_message_events
          WHERE at >= $1${sender === undefined ? '' : ' AND sender = $2'}
          GROUP BY 1, 2 ORDER BY 1, 2`,
        sender === undefined ? [since] : [since, sender],
      );
      return rows;
    },
    async prune(olderThan: string, batchSize: number) {
      return (await query(PRUNE, [olderThan, batchSize])).rowCount ?? 0;
    },
    watch(onAppend: () => void) {
      if (closed) return () => undefined;
      return listener.subscribe(onAppend);
    },
    async close() {
      closed = true;
      await listener.close();
    },
  };
}

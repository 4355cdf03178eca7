/**
 * One LISTEN connection to PostgreSQL, kept open: it calls its subscribers on every notification of
 * one channel, and reconnects with backoff when the connection drops (a restart, a failover, an
 * operator's pg_terminate_backend). Notifications sent while it was away are lost, so each time it
 * starts listening it calls every subscriber once: they re-read what they follow, and nothing is missed.
 */
import { Client, type ClientConfig } from 'pg';
import type { Logger } from 'pino';

/** Reconnect backoff: 100 ms doubling to 5 s, jittered ±20 %. */
export const LISTEN_RECONNECT_BACKOFF = { initialMs: 100, coefficient: 2, maximumMs: 5_000, jitter: 0.2 } as const;

/** The delay before reconnect number `attempt` (1-based); `random` in [0, 1). Pure. */
export function listenReconnectDelay(attempt: number, random: number): number {
  const { initialMs, coefficient, maximumMs, jitter } = LISTEN_RECONNECT_BACKOFF;
  const base = Math.min(maximumMs, initialMs * coefficient ** (attempt - 1));
  return Math.round(base * (1 - jitter + 2 * jitter * random));
}

export interface PostgresListener {
  /** Calls `listener` on each notification (and once whenever it starts listening); returns unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Resolves once the connection listens (tests and start-up use it); rejects after close. */
  listening(): Promise<void>;
  /** The backend pid of the current connection, if connected (for diagnostics and tests). */
  backendPid(): number | undefined;
  close(): Promise<void>;
}

export interface PostgresListenerOptions {
  connection: ClientConfig;
  /** A fixed identifier: it is written into the LISTEN statement, which takes no parameter. */
  channel: string;
  logger?: Pick<Logger, 'warn' | 'info'>;
  random?: () => number;
}

/** A listener that connects on its first subscriber and stays connected until close(). */
export function createPostgresListener(options: PostgresListenerOptions): PostgresListener {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) throw new Error(`not a plain channel name: ${options.channel}`);
  const random = options.random ?? Math.random;
  const subscribers = new Set<() => void>();
  let client: Client | undefined;
  let pid: number | undefined;
  let closed = false;
  let started = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let ready: Promise<void> | undefined;
  let markReady: (() => void) | undefined;

  const notify = () => {
    for (const subscriber of subscribers) {
      try {
        subscriber();
      } catch {
        // a hint: one subscriber failing must not stop the others
      }
    }
  };

  const resetReady = () => {
    ready = new Promise<void>((resolve) => (markReady = resolve));
  };
  resetReady();

  /** Connects and listens; any failure, then or later, schedules the next attempt. */
  async function connect(attempt: number): Promise<void> {
    if (closed) return;
    const next = new Client({ keepAlive: true, ...options.connection, application_name: 'herald-listen' });
    let dropped = false;
    const onDrop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      const wasListening = client === next;
      next.removeAllListeners('notification');
      // Later errors of this dead client are swallowed; a new one takes over.
      next.on('error', () => undefined);
      void next.end().catch(() => undefined);
      if (wasListening) {
        client = undefined;
        pid = undefined;
      }
      if (closed) return;
      if (wasListening) resetReady();
      options.logger?.warn(
        { err: error, channel: options.channel, attempt },
        wasListening ? 'LISTEN connection lost; reconnecting' : 'LISTEN connection failed; retrying',
      );
      schedule(wasListening ? 1 : attempt + 1);
    };
    next.on('error', onDrop);
    next.on('end', () => onDrop());
    next.on('notification', (message) => {
      if (message.channel === options.channel) notify();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${options.channel}`);
      const { rows } = await next.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (dropped) return;
      if (closed) {
        next.removeAllListeners();
        next.on('error', () => undefined);
        await next.end().catch(() => undefined);
        return;
      }
      client = next;
      pid = rows[0]?.pid;
      markReady?.();
      if (attempt > 0) options.logger?.info({ channel: options.channel, attempt }, 'LISTEN connection back');
      // Whatever was appended before this connection listened raised no notification here.
      notify();
    } catch (error) {
      onDrop(error as Error);
    }
  }

  function schedule(attempt: number) {
    if (closed) return;
    retryTimer = setTimeout(() => void connect(attempt), listenReconnectDelay(attempt, random()));
    // Never what keeps a process alive.
    retryTimer.unref();
  }

  return {
    subscribe(listener) {
      const own = () => listener();
      subscribers.add(own);
      if (!started && !closed) {
        started = true;
        void connect(0);
      }
      return () => {
        subscribers.delete(own);
      };
    },
    listening() {
      if (closed) return Promise.reject(new Error('the listener is closed'));
      return ready!;
    },
    backendPid: () => pid,
    async close() {
      closed = true;
      subscribers.clear();
      if (retryTimer) clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      pid = undefined;
      if (current) {
        current.removeAllListeners();
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
    },
  };
}

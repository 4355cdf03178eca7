/**
 * Start-up waits for its dependencies instead of exiting: Temporal and PostgreSQL may come up after
 * Herald (a compose file, a cluster restart), and two processes opening one SQLite file at once see
 * SQLITE_BUSY. What cannot get better by waiting (a bad password, a schema too new) fails at once.
 * Each retry waits a capped exponential delay with jitter, so a fleet of restarting processes spreads out.
 */
import type { Logger } from 'pino';
import { isSqliteBusy, UNREACHABLE_CODES } from '../store/store-errors';

/** The start-up backoff: 250 ms doubling to 10 s, each delay jittered by ±20 %. */
export const STARTUP_BACKOFF = { initialMs: 250, coefficient: 2, maximumMs: 10_000, jitter: 0.2 } as const;

/** A dependency did not come within HERALD_STARTUP_TIMEOUT; its last error is the cause. */
export class StartupTimeoutError extends Error {
  override name = 'StartupTimeoutError';
}

export interface StartupRetryOptions {
  logger: Logger;
  /** Give up after this long; 0 retries forever. */
  timeoutMs: number;
  /** Errors worth waiting out; any other error is thrown at once. Every error by default. */
  isRetryable?: (error: unknown) => boolean;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The delay before start-up retry number `retry` (1-based): capped exponential, jittered. Pure. */
export function startupRetryDelay(retry: number, random: number): number {
  const { initialMs, coefficient, maximumMs, jitter } = STARTUP_BACKOFF;
  const base = Math.min(maximumMs, initialMs * coefficient ** (retry - 1));
  return Math.round(base * (1 - jitter + 2 * jitter * random));
}

/** Runs `open` until it succeeds, logging each retry at warn with the next delay. */
export async function retryStartup<T>(
  dependency: string,
  open: () => Promise<T> | T,
  options: StartupRetryOptions,
): Promise<T> {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const startedAt = Date.now();
  for (let retry = 1; ; retry++) {
    try {
      return await open();
    } catch (error) {
      if (options.isRetryable && !options.isRetryable(error)) throw error;
      const nextDelayMs = startupRetryDelay(retry, random());
      const waitedMs = Date.now() - startedAt;
      if (options.timeoutMs > 0 && waitedMs + nextDelayMs > options.timeoutMs) {
        throw new StartupTimeoutError(`${dependency} was not available within ${options.timeoutMs} ms`, {
          cause: error,
        });
      }
      options.logger.warn(
        { dependency, retry, nextDelayMs, err: error },
        `start-up: ${dependency} not available, retrying`,
      );
      await sleep(nextDelayMs);
    }
  }
}

/**
 * PostgreSQL errors worth waiting out: no server listening yet, one starting up or shutting down
 * (57P01–57P03), too many connections (53300), a connection exception (class 08). Not: a bad password
 * (28P01), a database that does not exist (3D000), or a schema newer than this Herald (no code).
 */
export function isPostgresUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return UNREACHABLE_CODES.has(code) || /^(08|57P0[123]$|53300$)/.test(code);
}

/** Either store not available yet: SQLite's file locked, or PostgreSQL not accepting connections. */
export function isStoreUnavailable(error: unknown): boolean {
  return isSqliteBusy(error) || isPostgresUnavailable(error);
}

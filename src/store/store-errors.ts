/**
 * Which store failures pass on their own: the database cannot be reached, refuses connections for now,
 * dropped the connection, or (SQLite) stayed locked past the busy timeout. The API answers these with a
 * 503 and Retry-After, never a 500: the request was fine and the same request will work shortly.
 * Anything else (a constraint, a bug in a query) stays an internal error.
 */
import { StoreClosedError } from './postgres-dead-letter-store';

/** Node's socket errors on the way to the database (also what start-up waits out: runtime/startup-retry.ts). */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now": class 08 (connection exception), too many connections
 * (53300) and out of memory (53200), shutdown and "cannot connect now" (57P01–57P03), a statement
 * cancelled by its timeout (57014), a serialization failure or deadlock (40001, 40P01: the same
 * request again succeeds), and 55000 for a database that is not accepting connections. Not a dropped
 * database (57P04) or a full disk (53100): those need an operator, and a 500 says so.
 */
const TRANSIENT_SQL_STATES = new Set(['53300', '53200', '57P01', '57P02', '57P03', '57014', '40001', '40P01']);

function isTransientSqlState(code: string, message: string): boolean {
  if (code.startsWith('08') || TRANSIENT_SQL_STATES.has(code)) return true;
  return code === '55000' && message.includes('not currently accepting connections');
}

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the file's lock (past the busy timeout). */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/** Messages node-postgres raises itself (no SQLSTATE) when a connection fails or the pool waits too long. */
const PG_CLIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
];

export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof StoreClosedError) return true;
  // Shapes, not `instanceof Error`: socket errors may come from another realm (a VM context, jest).
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (typeof code === 'string') {
    if (UNREACHABLE_CODES.has(code)) return true;
    if (isSqliteBusy(error)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isTransientSqlState(code, text)) return true;
  }
  // AggregateError: a host name that resolves to several addresses, each refused.
  if (Array.isArray(errors) && errors.some(isStoreUnavailable)) return true;
  if (PG_CLIENT_MESSAGES.some((known) => text.includes(known))) return true;
  // A wrapper whose cause is one of the above.
  const { cause } = error as { cause?: unknown };
  return cause !== undefined && cause !== error && isStoreUnavailable(cause);
}

/**
 * Which store failures pass on their own: the database cannot be reached, refuses connections for now,
 * dropped the connection, or (SQLite) stayed locked past the busy timeout. The API answers these with a
 * 503 and Retry-After, never a 500: the request was fine and the same request will work shortly.
 * Anything else (a constraint, a bug in a query) stays an internal error.
 */
import { StoreClosedError } from './postgres-dead-letter-store';

/** Node's socket errors on the way to the database. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

/**
 * PostgreSQL SQLSTATEs that mean "not now": class 08 (connection exception), 53 (insufficient
 * resources: too many connections, out of memory or disk), 57P (operator intervention: shutdown,
 * cannot connect now), and 55000 with a database that is not accepting connections.
 */
function isTransientSqlState(code: string, message: string): boolean {
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('57P')) return true;
  return code === '55000' && message.includes('not currently accepting connections');
}

/** Messages node-postgres raises itself (no SQLSTATE) when a connection fails or the pool waits too long. */
const PG_CLIENT_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect'];

export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof StoreClosedError) return true;
  // Shapes, not `instanceof Error`: socket errors may come from another realm (a VM context, jest).
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isTransientSqlState(code, text)) return true;
  }
  // AggregateError: a host name that resolves to several addresses, each refused.
  if (Array.isArray(errors)) return errors.some(isStoreUnavailable);
  return PG_CLIENT_MESSAGES.some((known) => text.includes(known));
}

/**
 * What an API key may do. A key carries roles (HERALD_API_KEYS `name:key:role`); a key written without
 * one is `unscoped` and keeps the rights every key had before roles existed (send, read any message,
 * operate dead letters and destinations; cancel only its own messages; follow only its own events).
 */
export const API_ROLES = ['sender', 'operator', 'reader'] as const;

/**
 * - `sender`: send, and read, cancel, re-point and follow its own messages.
 * - `operator`: everything about dead letters and destinations, and read or cancel any message.
 * - `reader`: read-only, every message, dead letter and destination.
 */
export type ApiRole = (typeof API_ROLES)[number];

/** A key's roles, or `unscoped` for a key configured without any. */
export type ApiKeyRoles = readonly ApiRole[] | 'unscoped';

export function isApiRole(value: string): value is ApiRole {
  return (API_ROLES as readonly string[]).includes(value);
}

/**
 * What a caller may do, from its key's roles (contract/api-roles.ts). Each route names the roles that
 * may call it (`config.roles`, checked in app.ts before the body is read); routes about one message
 * also check whose message it is, because a sender reaches only its own. Every refusal is a 403 that
 * names the role missing.
 */
import type { ApiRole } from '../contract/api-roles';
import type { Caller } from './auth';
import { ProblemError } from './problem';

/** The roles each kind of route is for (a route's `config.roles`). */
export const ROUTE_ROLES = {
  /** Sending a message. */
  send: ['sender'],
  /** Reading messages and following their events: a sender its own, the others every one. */
  readMessages: ['sender', 'operator', 'reader'],
  /** Cancelling a message or re-pointing its outcome: a sender its own, an operator any. */
  actOnMessages: ['sender', 'operator'],
  /** Handing over a reply: its signature (the reply secret) says it is the destination's. */
  reply: ['sender', 'operator'],
  /** Reading dead letters, destinations and retry settings. */
  readOperations: ['operator', 'reader'],
  /** Redriving and discarding dead letters, changing destinations and retry settings. */
  operate: ['operator'],
} as const satisfies Record<string, readonly ApiRole[]>;

function has(caller: Caller, roles: readonly ApiRole[]): boolean {
  return caller.roles === 'unscoped' || caller.roles.some((role) => roles.includes(role));
}

function named(roles: readonly ApiRole[]): string {
  const list = roles.map((role) => `the ${role} role`);
  return list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : (list[0] ?? 'a role');
}

function rolesOf(caller: Caller): string {
  return caller.roles === 'unscoped' ? 'no role' : caller.roles.join('+');
}

function refusal(caller: Caller, roles: readonly ApiRole[], action: string): ProblemError {
  return new ProblemError('forbidden', `${action} needs ${named(roles)}; key "${caller.name}" has ${rolesOf(caller)}`, {
    requiredRoles: [...roles],
  });
}

/** 403 unless the caller has one of `roles` (an unscoped key has every route it had before roles). */
export function requireRole(caller: Caller, roles: readonly ApiRole[], action: string): void {
  if (!has(caller, roles)) throw refusal(caller, roles, action);
}

/** Operators and readers see every message; an unscoped key did before roles existed, and still does. */
export function readsEveryMessage(caller: Caller): boolean {
  return caller.roles === 'unscoped' || caller.roles.includes('operator') || caller.roles.includes('reader');
}

/** Operators act on any message; every other key (an unscoped one too, as before roles) only on its own. */
export function actsOnEveryMessage(caller: Caller): boolean {
  return caller.roles !== 'unscoped' && caller.roles.includes('operator');
}

/**
 * `GET /v1/events` follows every message for operators and readers; for senders and unscoped keys (as
 * before roles), the messages their key sent.
 */
export function followsEveryMessage(caller: Caller): boolean {
  return caller.roles !== 'unscoped' && (caller.roles.includes('operator') || caller.roles.includes('reader'));
}

/**
 * 403 unless the caller may `read` or `act` on a message. `senderOf` (the memo's sender, one describe()) is
 * asked only when the caller's roles do not already cover every message; undefined there is a message
 * started outside the API, open to every key that may call the route.
 */
export async function requireMessageAccess(
  caller: Caller,
  senderOf: () => Promise<string | undefined>,
  kind: 'read' | 'act',
): Promise<void> {
  if (kind === 'read' ? readsEveryMessage(caller) : actsOnEveryMessage(caller)) return;
  const sender = await senderOf();
  if (sender === undefined || sender === caller.name) return;
  if (kind === 'read') throw refusal(caller, ['operator', 'reader'], 'reading a message another key sent');
  throw refusal(caller, ['operator'], 'acting on a message another key sent');
}

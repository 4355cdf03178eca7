/**
 * The ordering sequencer: for each (destination host, ordering key), which message was accepted last,
 * so that a new message with that key learns its predecessor and its place. Shared by every API host
 * (the SQLite file on one host, PostgreSQL in a fleet), so acceptance order is one order across hosts.
 * test/store/ordering-store.contract.ts is the behaviour both implementations share.
 *
 * The store only hands out places; the messages' workflows hand the turn on to each other (see
 * workflows/message-run.ts, OrderingRules), so a message with a key costs one short transaction here.
 */

/** A message's place on its key. */
export interface OrderingClaim {
  /** The message accepted just before it on the same destination and key; null for the first. */
  predecessor: string | null;
  /** Its place on the key, from 1, in acceptance order. */
  seq: number;
  /**
   * When the predecessor claimed its place (ISO 8601); null without one, or once its row was pruned. The
   * message reads a predecessor Temporal does not know yet as "its start is on the way" only shortly after this.
   */
  predecessorClaimedAt: string | null;
}

/**
 * How long a message's place is kept: a resend of it within this time gets the same place, and its
 * successor learns when it claimed it. Places are pruned after it (an hour apart at most, from claims);
 * a key's last message is kept forever (one row per key), so a key blocked by a dead letter stays blocked.
 */
export const ORDERING_PLACE_RETENTION_MS = 7 * 24 * 60 * 60_000;

/** Options both implementations take; tests shorten them. */
export interface OrderingStoreOptions {
  /** Default ORDERING_PLACE_RETENTION_MS. */
  placeRetentionMs?: number;
  /** How often a claim may also prune places past retention; default an hour. */
  pruneEveryMs?: number;
}

/** How many places one prune statement deletes: a long backlog goes in short statements. */
export const PRUNE_BATCH = 1_000;

/**
 * Decides, from claims, when the next prune is due (one per pruneEveryMs per process). `due` answers
 * the cut-off when one is; a prune that failed calls `failed`, so the next claim tries again.
 */
export function pruneSchedule(options: OrderingStoreOptions): { due(): Date | undefined; failed(): void } {
  const retention = options.placeRetentionMs ?? ORDERING_PLACE_RETENTION_MS;
  const every = options.pruneEveryMs ?? 60 * 60_000;
  let nextAt = 0;
  return {
    due() {
      const now = Date.now();
      if (now < nextAt) return undefined;
      nextAt = now + every;
      return new Date(now - retention);
    },
    failed() {
      nextAt = 0;
    },
  };
}
export interface OrderingStore {
  /**
   * Gives `messageId` the next place on (`destination`, `key`), atomically: two claims at once, from
   * any hosts, form one chain. Idempotent per message id: a claim for a message that already has a
   * place answers that place (a retried POST gets the same answer, whatever key it names).
   */
  claim(messageId: string, destination: string, key: string): Promise<OrderingClaim>;
  close(): Promise<void>;
}

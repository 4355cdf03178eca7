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

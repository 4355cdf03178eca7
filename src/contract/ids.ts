/** Message ids. Safe in the workflow sandbox and in the HTTP client: no Node built-in, no Temporal module. */

/** Crockford base32: ids sort and read well, and contain no ambiguous letters. */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A new message id: `msg_` and 26 random base32 characters (130 bits). Uses the Web Crypto API, which
 * Node (20+) and browsers share, so the client needs no `node:crypto`.
 */
export function newMessageId(): string {
  return newId('msg');
}

/** `<prefix>_` and 26 random base32 characters (130 bits): the shape of every id Herald makes. */
export function newId(prefix: string): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(26));
  return `${prefix}_${Array.from(bytes, (byte) => ID_ALPHABET[byte % 32]).join('')}`;
}

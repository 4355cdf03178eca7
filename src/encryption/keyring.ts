/**
 * The keys Herald encrypts with (HERALD_ENCRYPTION_KEYS): `id:base64` entries, comma-separated, each a
 * 32-byte AES-256 key. The first is current (new payloads use it); the others only decrypt, so a key is
 * rotated by putting a new one first and retired by removing it once nothing needs it (README: Encryption).
 */
import { createHash } from 'node:crypto';

export const KEY_BYTES = 32;
/** A key id is written into every payload's metadata and shown in logs: short, printable, no separator. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** The key new payloads are encrypted with. */
  current: EncryptionKey;
  /** Every key, current first, by id. */
  byId: ReadonlyMap<string, EncryptionKey>;
}

/** Parses HERALD_ENCRYPTION_KEYS; returns the problems (never the key material) when it cannot. */
export function parseKeyring(text: string): { ok: true; keyring: Keyring } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const keys: EncryptionKey[] = [];
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return { ok: false, problems: ['no key given (id:base64, comma-separated)'] };
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const where = `entry ${index + 1}${KEY_ID.test(id) ? ` (${id})` : ''}`;
    if (colon < 0) return problems.push(`${where}: expected id:base64`);
    if (!KEY_ID.test(id)) return problems.push(`${where}: the id must be 1–64 of A–Z a–z 0–9 . _ -`);
    const material = entry.slice(colon + 1);
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) {
      return problems.push(`${where}: the key must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32)`);
    }
    if (keys.some((other) => other.id === id)) return problems.push(`${where}: the id is given twice`);
    if (keys.some((other) => other.key.equals(key))) return problems.push(`${where}: the same key is given twice`);
    keys.push({ id, key });
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, keyring: { current: keys[0]!, byId: new Map(keys.map((key) => [key.id, key])) } };
}

/** A short fingerprint of a key (for logs: which key a process holds, never the key). */
export function keyFingerprint(key: EncryptionKey): string {
  return createHash('sha256').update(key.key).digest('hex').slice(0, 12);
}

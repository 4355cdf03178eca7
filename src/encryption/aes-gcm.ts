/**
 * AES-256-GCM with Node's crypto: a fresh 12-byte nonce per seal, the 16-byte tag appended, and the
 * purpose and key id as associated data: a value relabelled with another key id, or moved from one use to
 * another (a dead-letter field handed to the codec as a payload), fails to open instead of misleading.
 * Layout: nonce (12) | ciphertext | tag (16).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey, Keyring } from './keyring';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A value that cannot be opened: its key is not held, or it was altered. The message names the key id only. */
export class SealedValueError extends Error {
  constructor(
    message: string,
    readonly keyId: string,
  ) {
    super(message);
    this.name = 'SealedValueError';
  }
}

/** What a sealed value is for; part of its associated data. */
export type SealPurpose = 'payload' | 'dead-letter' | 'blob';

/** `context` binds a value to its place within its use (a blob's frame: its index, and whether it is the last). */
const associatedData = (purpose: SealPurpose, keyId: string, context?: string) =>
  Buffer.from(`herald/${purpose}/v1|${keyId}${context === undefined ? '' : `|${context}`}`, 'utf8');

export function seal(purpose: SealPurpose, key: EncryptionKey, plaintext: Uint8Array, context?: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  cipher.setAAD(associatedData(purpose, key.id, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function open(
  purpose: SealPurpose,
  keyring: Keyring,
  keyId: string,
  sealed: Uint8Array,
  context?: string,
): Buffer {
  const key = keyring.byId.get(keyId);
  if (!key) {
    throw new SealedValueError(
      `encrypted with key ${JSON.stringify(keyId)}, which HERALD_ENCRYPTION_KEYS does not hold`,
      keyId,
    );
  }
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new SealedValueError('encrypted value too short', keyId);
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData(purpose, keyId, context));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedValueError(`encrypted value under key ${JSON.stringify(keyId)} failed its integrity check`, keyId);
  }
}

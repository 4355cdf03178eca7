/**
 * The Temporal payload codec: every payload Herald's clients and workers write (workflow and activity
 * inputs and results, signals, updates, queries, memos, and, with the failure converter below, failure
 * messages and stack traces) leaves the process AES-256-GCM-encrypted, with the key id in its metadata.
 * The whole payload (its metadata, which names the encoding, and its data) is sealed, so Temporal sees
 * only `binary/encrypted`.
 *
 * Decoding passes through what is not encrypted: histories recorded before encryption was switched on
 * replay, and their messages go on, unchanged (test/replay, test/encryption).
 */
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { open, seal } from './aes-gcm';
import type { Keyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { current } = this.keyring;
    return payloads.map((payload) => ({
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(current.id) },
      data: seal('payload', current, temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const keyId = encryptedWith(payload);
      if (keyId === undefined) return payload;
      const inner = temporal.api.common.v1.Payload.decode(
        open('payload', this.keyring, keyId, payload.data ?? new Uint8Array()),
      );
      return { metadata: inner.metadata, data: inner.data };
    });
  }
}

/** The key id of an encrypted payload; undefined for one that is not. */
export function encryptedWith(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return undefined;
  const keyId = payload.metadata?.[KEY_ID_METADATA];
  return keyId ? fromUtf8.decode(keyId) : '';
}

/**
 * What a Temporal client or worker of Herald's is given: the codec. Without a keyring: Temporal's
 * defaults (plaintext). Failure messages and stack traces are not payloads and stay plaintext (README:
 * Encryption, what is not encrypted).
 */
export function heraldDataConverter(keyring: Keyring | undefined): DataConverter | undefined {
  if (!keyring) return undefined;
  return { payloadCodecs: [new EncryptionCodec(keyring)] };
}

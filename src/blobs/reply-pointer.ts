/**
 * Pointers to large replies: a callback cannot carry a 50 MiB reply, so it carries a URL on Herald's
 * API that serves it, signed to work without an API key for a short while (HERALD_BLOB_POINTER_TTL).
 * The signature is an HMAC over the message id, the blob id and the expiry, under a key derived from
 * the callback secret the callback itself is signed with: whoever can verify the callback can use the
 * pointer, and rotating that secret ends every pointer made with it.
 *
 * Hand-written (a dozen lines of node:crypto) rather than a JWT library: there are no claims to carry
 * but these three, and no algorithm to negotiate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The path that serves a message's large reply (with an API key, or with a pointer's query). */
export function replyBodyPath(messageId: string): string {
  return `/v1/messages/${encodeURIComponent(messageId)}/reply/body`;
}

/** A key of its own for pointers, so a pointer signature can never pass for a callback signature. */
function pointerKey(callbackSecret: string): Buffer {
  return createHmac('sha256', callbackSecret).update('herald/reply-pointer/v1').digest();
}

function signature(callbackSecret: string, messageId: string, blobId: string, expires: number): string {
  return createHmac('sha256', pointerKey(callbackSecret))
    .update(`${messageId}\n${blobId}\n${expires}`)
    .digest('base64url');
}

/** A pointer URL to `blobId`, the reply of `messageId`, working until `expiresAtMs`. */
export function replyPointerUrl(options: {
  publicUrl: string;
  callbackSecret: string;
  messageId: string;
  blobId: string;
  expiresAtMs: number;
}): string {
  const expires = Math.floor(options.expiresAtMs / 1000);
  const sig = signature(options.callbackSecret, options.messageId, options.blobId, expires);
  return `${options.publicUrl}${replyBodyPath(options.messageId)}?blob=${options.blobId}&expires=${expires}&sig=${sig}`;
}

/** Why a pointer does not open the reply, or undefined when it does. */
export function pointerRefusal(options: {
  /** The sender's callback secrets: a pointer made with any of them opens the reply (rotation). */
  callbackSecrets: readonly string[] | undefined;
  messageId: string;
  blobId: string;
  expires: string;
  sig: string;
  nowMs: number;
}): string | undefined {
  const expires = Number(options.expires);
  if (!/^\d{1,12}$/.test(options.expires) || !Number.isSafeInteger(expires)) return 'expires is not a time';
  if (expires * 1000 < options.nowMs) return 'the pointer has expired; ask with an API key instead';
  if (!options.callbackSecrets || options.callbackSecrets.length === 0) {
    return 'no callback secret is configured for the sender of this message';
  }
  const presented = Buffer.from(options.sig);
  const matches = options.callbackSecrets.some((secret) => {
    const expected = Buffer.from(signature(secret, options.messageId, options.blobId, expires));
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  });
  return matches ? undefined : 'the signature does not match';
}

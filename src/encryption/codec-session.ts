/**
 * The codec endpoint's browser session: after an operator proves an API key once (POST /codec/session),
 * the Temporal Web UI's requests carry an HttpOnly cookie instead of the key (the UI cannot add a header
 * of its own). The cookie is stateless, so any API host of a fleet accepts it: the key's name and an
 * expiry, with an HMAC made with a key derived (HKDF) from the current encryption key. It is checked
 * against every key of the keyring, so a rotation does not log anyone out.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { EncryptionKey, Keyring } from './keyring';

export const CODEC_SESSION_COOKIE = 'herald_codec';
export const CODEC_SESSION_TTL_MS = 12 * 60 * 60_000;

function macKey(key: EncryptionKey): Buffer {
  return Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), 'herald codec session v1', 32));
}

function mac(key: EncryptionKey, body: string): Buffer {
  return createHmac('sha256', macKey(key)).update(body).digest();
}

/** A session for API key `keyName`, valid until `now + ttlMs`. */
export function issueCodecSession(keyring: Keyring, keyName: string, now = Date.now(), ttlMs = CODEC_SESSION_TTL_MS) {
  const body = `v1.${Buffer.from(keyName, 'utf8').toString('base64url')}.${now + ttlMs}`;
  return `${body}.${mac(keyring.current, body).toString('base64url')}`;
}

/** The API key name of a valid, unexpired session; undefined otherwise. */
export function verifyCodecSession(keyring: Keyring, token: string, now = Date.now()): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
  const [, name, expiry, signature] = parts as [string, string, string, string];
  const presented = Buffer.from(signature, 'base64url');
  const body = `v1.${name}.${expiry}`;
  const valid = [...keyring.byId.values()].some((key) => {
    const expected = mac(key, body);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  });
  if (!valid || !(Number(expiry) > now)) return undefined;
  return Buffer.from(name, 'base64url').toString('utf8');
}

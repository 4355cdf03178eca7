/**
 * API keys: `Authorization: Bearer <key>`, checked in constant time against every configured key.
 * Only a key's name ever reaches logs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../config/config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Returns a function that maps an Authorization header to the key's name, or undefined. */
export function createApiKeyVerifier(keys: ApiKey[]): (authorization: string | undefined) => string | undefined {
  // Compare fixed-length digests, so neither the key's content nor its length leaks through timing.
  const known = keys.map((key) => ({ name: key.name, digest: digest(key.key) }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let name: string | undefined;
    for (const key of known) {
      if (timingSafeEqual(key.digest, presented)) name = key.name;
    }
    return name;
  };
}

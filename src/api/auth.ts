/**
 * API keys: `Authorization: Bearer <key>`, checked in constant time against every configured key.
 * Only a key's name ever reaches logs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../config/config';
import type { ApiKeyRoles } from '../contract/api-roles';

/** Who called: the key's name (what logs, events and HeraldSender show) and its roles. */
export interface Caller {
  name: string;
  roles: ApiKeyRoles;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Returns a function that maps an Authorization header to the calling key, or undefined. */
export function createApiKeyVerifier(keys: ApiKey[]): (authorization: string | undefined) => Caller | undefined {
  // Compare fixed-length digests, so neither the key's content nor its length leaks through timing.
  const known = keys.map((key) => ({ caller: { name: key.name, roles: key.roles }, digest: digest(key.key) }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]!);
    let caller: Caller | undefined;
    for (const key of known) {
      if (timingSafeEqual(key.digest, presented)) caller = key.caller;
    }
    return caller;
  };
}

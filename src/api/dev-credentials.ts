/**
 * Credentials for the embedded default (`npm start` with no TEMPORAL_ADDRESS): when no API key or
 * webhook secret (reply, callback, delivery) is configured, one is generated once, kept in the data
 * directory, and printed at start, so a new user can try the API with curl and verify what Herald sends. The same for the payload encryption key, which is never printed
 * (only its id and file). Outside the embedded default, none is ever invented.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeraldConfig } from '../config/config';
import { KEY_BYTES, parseKeyring } from '../encryption/keyring';

export interface DevCredentials {
  apiKey?: string;
  replySecret?: string;
  callbackSecret?: string;
  deliverySecret?: string;
  /** The generated encryption key's id and the file it is kept in (the key is not printed). */
  encryptionKey?: { id: string; file: string };
}

function loadOrCreate(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(join(path, '..'), { recursive: true });
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

/** Fills in missing credentials for the embedded default; returns what it generated, to print. */
export function applyDevCredentials(config: HeraldConfig): DevCredentials {
  const generated: DevCredentials = {};
  if (config.api.keys.length === 0) {
    generated.apiKey = loadOrCreate(
      join(config.dataDir, 'dev-api-key'),
      () => `hk_${randomBytes(24).toString('base64url')}`,
    );
    config.api.keys.push({ name: 'dev', key: generated.apiKey, roles: 'unscoped' });
  }
  const webhookSecret = (file: string) =>
    loadOrCreate(join(config.dataDir, file), () => `whsec_${randomBytes(32).toString('base64')}`);
  if (Object.keys(config.replySecrets).length === 0) {
    generated.replySecret = webhookSecret('dev-reply-secret');
    config.replySecrets = { '*': [generated.replySecret] };
  }
  if (Object.keys(config.callbackSecrets).length === 0) {
    generated.callbackSecret = webhookSecret('dev-callback-secret');
    config.callbackSecrets = { '*': [generated.callbackSecret] };
  }
  if (Object.keys(config.deliverySecrets).length === 0) {
    generated.deliverySecret = webhookSecret('dev-delivery-secret');
    config.deliverySecrets = { '*': [generated.deliverySecret] };
  }
  if (!config.encryption.keyring) {
    const file = join(config.dataDir, 'dev-encryption-key');
    // One key for the data directory's lifetime: its messages and dead letters need it as long as they exist.
    const entry = loadOrCreate(file, () => `dev-1:${randomBytes(KEY_BYTES).toString('base64')}`);
    const parsed = parseKeyring(entry);
    if (!parsed.ok)
      throw new Error(`${file}: ${parsed.problems.join('; ')} (remove the file only if no message needs it)`);
    config.encryption.keyring = parsed.keyring;
    generated.encryptionKey = { id: parsed.keyring.current.id, file };
  }
  return generated;
}

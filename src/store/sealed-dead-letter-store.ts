/**
 * The dead-letter store, encrypted at rest with the payload keys: a record's message (body and
 * destination headers, credentials included), last error, attempts (response excerpts) and a callback's
 * outcome document are stored sealed (AES-256-GCM, the key id beside them); what an operator filters on
 * (id, reason, kind, destination host, state, times) stays plain. Reading opens them again, so the API
 * answers as before, to the callers it lets read dead letters.
 *
 * A sealed field is stored where the plain one was, as `{"herald:sealed":"v1","key":…,"data":…}`, in the
 * same JSON column of either store: no migration, and records written before encryption still read.
 */
import type { DeadLetterRecord } from '../contract/dead-letter';
import type { DeadLetterStore, NewDeadLetter } from './dead-letter-store';
import { open, seal } from '../encryption/aes-gcm';
import type { Keyring } from '../encryption/keyring';

const SEALED = 'herald:sealed';

interface SealedValue {
  [SEALED]: 'v1';
  key: string;
  data: string;
}

function isSealed(value: unknown): value is SealedValue {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[SEALED] === 'v1';
}

/** A JSON value sealed under the current key. */
export function sealJson(keyring: Keyring, value: unknown): SealedValue {
  const data = seal('dead-letter', keyring.current, Buffer.from(JSON.stringify(value), 'utf8')).toString('base64');
  return { [SEALED]: 'v1', key: keyring.current.id, data };
}

/** The value, opened if it was sealed (a plain value, from before encryption, is returned as it is). */
export function openJson(keyring: Keyring, value: unknown): unknown {
  if (!isSealed(value)) return value;
  return JSON.parse(
    open('dead-letter', keyring, value.key, Buffer.from(value.data, 'base64')).toString('utf8'),
  ) as unknown;
}

/** The keys a record's sealed fields are under (for the retirement check: which records still need a key). */
export function sealedKeysOf(record: DeadLetterRecord): string[] {
  const fields: unknown[] = [record.message, record.lastError, record.attempts, record.callback?.payload];
  return [...new Set(fields.filter(isSealed).map((field) => field.key))];
}

function sealRecord<R extends NewDeadLetter>(keyring: Keyring, record: R): R {
  // Stored in the record's own fields: the stores serialize whatever JSON a field holds.
  const sealed = <T>(value: unknown) => sealJson(keyring, value) as T;
  return {
    ...record,
    message: sealed(record.message),
    lastError: record.lastError ? sealed(record.lastError) : null,
    attempts: sealed(record.attempts),
    ...(record.callback ? { callback: { ...record.callback, payload: sealed(record.callback.payload) } } : {}),
  };
}

function openRecord(keyring: Keyring, record: DeadLetterRecord): DeadLetterRecord {
  const opened = <T>(value: unknown) => openJson(keyring, value) as T;
  return {
    ...record,
    message: opened(record.message),
    lastError: opened(record.lastError),
    attempts: opened(record.attempts),
    callback: record.callback ? { ...record.callback, payload: opened(record.callback.payload) } : null,
  };
}

/** `store` with its records sealed on the way in and opened on the way out. */
export function sealedDeadLetterStore(store: DeadLetterStore, keyring: Keyring): DeadLetterStore {
  return {
    ...store,
    put: (record) => store.put(sealRecord(keyring, record)),
    get: async (id) => {
      const record = await store.get(id);
      return record && openRecord(keyring, record);
    },
    list: async (filter) => {
      const page = await store.list(filter);
      return { ...page, records: page.records.map((record) => openRecord(keyring, record)) };
    },
  };
}

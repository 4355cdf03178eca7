/**
 * Registers Herald's search attributes on a namespace that lacks them (a fresh cluster or Temporal
 * Cloud). The embedded dev server registers them itself at start; this is for everything else.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { HERALD_SEARCH_ATTRIBUTES } from '../contract/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

/** Adds any of Herald's search attributes the namespace does not have yet; returns the names it added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = HERALD_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((key) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD] as const),
    ),
  });
  return missing.map((key) => key.name);
}

/**
 * Registers the search attributes when it can. Temporal Cloud (and clusters with restricted operator
 * access) refuse this call; there an operator registers them once, so a refusal is a warning, not a crash.
 */
export async function tryEnsureSearchAttributes(
  connection: Connection,
  namespace: string,
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
): Promise<void> {
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    if (added.length > 0) logger.info({ added, namespace }, 'registered search attributes');
  } catch (error) {
    logger.warn(
      { err: error, namespace },
      `could not register search attributes ${HERALD_SEARCH_ATTRIBUTES.map((key) => key.name).join(', ')} (Keyword); register them once by hand`,
    );
  }
}

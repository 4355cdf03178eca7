/**
 * A bulk redrive names what it touches: at least one filter, or `all: true` for every parked dead
 * letter. An empty body must not mean "everything": one mistaken request would redrive the whole queue.
 */
import { ProblemError } from './problem';

/** The filters of a bulk redrive; any one of them scopes it. */
export const BULK_REDRIVE_FILTERS = ['kind', 'reason', 'destination', 'since', 'until'] as const;

/** Throws a 400 when a bulk redrive has neither a filter nor `all: true`. */
export function requireBulkRedriveScope(
  body: Partial<Record<(typeof BULK_REDRIVE_FILTERS)[number], unknown>> & {
    all?: boolean;
  },
): void {
  if (body.all === true || BULK_REDRIVE_FILTERS.some((filter) => body[filter] !== undefined)) return;
  throw new ProblemError(
    'validation-failed',
    `a bulk redrive needs a filter (${BULK_REDRIVE_FILTERS.join(', ')}) or "all": true for every parked dead letter`,
    {
      errors: [
        {
          field: '/all',
          message: `must be true when no filter (${BULK_REDRIVE_FILTERS.join(', ')}) is given`,
        },
      ],
    },
  );
}

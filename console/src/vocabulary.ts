/**
 * Herald's words the console filters by, copied from src/contract (which would bring TypeBox into the page);
 * test/console/vocabulary.test.ts keeps the copies equal.
 */
export const DEAD_LETTER_REASONS = [
  'max_attempts_exhausted',
  'permanent_error',
  'deadline_exceeded',
  'reply_timeout',
  'callback_failed',
] as const;

export const DEAD_LETTER_KINDS = ['message', 'callback'] as const;

/** States after which a message's event stream ends (a redrive may start it again). */
export const TERMINAL_STATES = [
  'replied',
  'delivered',
  'dead_lettered',
  'cancelled',
  'rejected',
  'discarded',
  'terminated',
  'timed_out',
] as const;

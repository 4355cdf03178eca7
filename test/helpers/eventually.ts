/**
 * Polling for tests: asks again until the answer is the one expected, for things that become true
 * asynchronously (a workflow's state, a request reaching a server, visibility catching up).
 */

export interface EventuallyOptions<T> {
  /** When the value is the one waited for; without it, any value but `false` is (so a boolean check works). */
  until?: (value: T) => boolean;
  /** What is waited for, for the timeout message (a function: described when the time is up). */
  what?: string | (() => string);
  /** @defaultValue 20_000 */
  timeoutMs?: number;
  /** @defaultValue 100 */
  intervalMs?: number;
}

/** A probe that never gave the awaited value in time; carries its last value or error. */
export class EventuallyTimeoutError extends Error {
  override name = 'EventuallyTimeoutError';
}

/**
 * Calls `probe` until it returns an accepted value, and resolves with it. A probe that throws counts as
 * "not yet" (an assertion inside it, or a workflow that has not run its first task); after the timeout
 * this rejects with the last value or error in the message.
 */
export async function eventually<T>(probe: () => T | Promise<T>, options: EventuallyOptions<T> = {}): Promise<T> {
  const {
    until = (value: T) => value !== false,
    what = 'the condition',
    timeoutMs = 20_000,
    intervalMs = 100,
  } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (until(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const seen =
    last === undefined
      ? 'nothing'
      : 'error' in last
        ? `error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
        : `value: ${JSON.stringify(last.value, null, 2)}`;
  const described = typeof what === 'function' ? what() : what;
  throw new EventuallyTimeoutError(`timed out after ${timeoutMs} ms waiting for ${described}; last ${seen}`);
}

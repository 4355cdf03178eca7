/**
 * Durations in messages and config: a whole number of milliseconds, or a string like "500ms", "30s",
 * "5m", "2h", "7d". Deliberately strict (one number, one unit) so a typo is an error, not a surprise.
 * Pure: used by workflows as well as the API.
 */
export type DurationInput = string | number;

/** The pattern a duration string must match; also used in the JSON schemas. */
export const DURATION_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)\\s*$';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration to milliseconds, or returns undefined when it is not a valid duration. */
export function parseDuration(input: DurationInput): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  }
  const match = new RegExp(DURATION_PATTERN).exec(input);
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * UNIT_MS[unit as string]!);
}

/** Formats milliseconds compactly for logs and summaries ("1.5s", "2m", "7d"). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size) return `${Number((ms / size).toFixed(2))}${unit}`;
  }
  return `${ms}ms`;
}

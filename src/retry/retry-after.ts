/**
 * Parses an HTTP Retry-After header (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.
 * Returns milliseconds from `now`, never negative, or undefined when absent or malformed.
 */
export function parseRetryAfter(header: string | string[] | undefined, now: Date): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only the IMF-fixdate form and its obsolete cousins carry a weekday and "GMT"; Date.parse reads all of them.
  if (!/GMT$/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

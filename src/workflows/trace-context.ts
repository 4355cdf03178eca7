/**
 * W3C trace context for the workflow sandbox, without OpenTelemetry's SDK: parsing the `traceparent`
 * a workflow or signal was started with, writing one for what the workflow starts, and span and trace
 * ids derived from the run id, so that a replay (another worker, after an eviction) makes the same ids
 * and the workflow's random numbers (retry jitter) are not consumed by tracing. Pure; imported by
 * tracing-interceptors.ts, tested in test/workflows/trace-context.test.ts.
 */

/** The parts of a `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header). */
export interface TraceParent {
  traceId: string;
  spanId: string;
  /** Two hex digits; bit 0 is "sampled". */
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** The trace context in a `traceparent`, or undefined when it is not a valid one (as the W3C spec reads it). */
export function parseTraceParent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  // Version ff is forbidden; version 00 has exactly four fields; all-zero ids are invalid.
  if (version === 'ff' || (version === '00' && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceParent({ traceId, spanId, flags }: TraceParent): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

export function isSampled(flags: string): boolean {
  return (Number.parseInt(flags, 16) & 1) === 1;
}

/** FNV-1a, 32 bits, from a given offset basis: eight hex digits. */
function fnv1a(text: string, basis: number): string {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const BASES = [0x811c9dc5, 0x050c5d1f, 0x2f5a7c39, 0x6b43a9b5];

/** A hex id of `words` × 8 digits from `seed`; never all zeros (an invalid id in W3C trace context). */
function derivedId(seed: string, words: number): string {
  const id = BASES.slice(0, words)
    .map((basis) => fnv1a(seed, basis))
    .join('');
  return /^0+$/.test(id) ? `${id.slice(0, -1)}1` : id;
}

/** The id of the `n`th span a run makes: unique within the run, the same on every replay of it. */
export function derivedSpanId(runId: string, n: number): string {
  return derivedId(`${runId}/span/${n}`, 2);
}

/** The trace id of a run started with no trace context (from the Temporal CLI, say): its own trace. */
export function derivedTraceId(runId: string): string {
  return derivedId(`${runId}/trace`, 4);
}

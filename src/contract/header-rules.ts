/**
 * What a destination header may be, so that what Herald sends is exactly what the sender gave.
 * Pure (no Node built-ins): the workflow checks its own input with these rules.
 */
import type { FieldError } from './field-error';

/** RFC 9110 §5.1: a field name is a token. */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/**
 * RFC 9110 §5.5: a field value is visible ASCII, obs-text, spaces and tabs. CR, LF and NUL would split
 * or cut the request (undici refuses them, so each attempt failed as a network error until the retries ran out).
 */
const FORBIDDEN_VALUE_CHARACTER = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Headers the transport owns (RFC 9110 §7.6.1 hop-by-hop fields, message framing, the target host,
 * proxies): a sender setting them could smuggle a second request or misdirect a proxy, and Herald
 * would have to drop or rewrite them. Lower case.
 */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'expect',
  'http2-settings',
]);

/**
 * Headers Herald itself sets on every delivery, from the message: a sender's value would be replaced
 * without a word, so it is refused instead, saying where the value comes from. Lower case. (A
 * `Content-Type` header is the sender's to give: it is sent as given, see contentTypeErrors.)
 */
export const HERALD_HEADERS: ReadonlyMap<string, string> = new Map([
  ['idempotency-key', 'is set by Herald to the message id (the id is the idempotency key); choose the id instead'],
  ['webhook-id', 'is set by Herald to the message id; choose the id instead'],
  ['webhook-timestamp', 'is set by Herald when it signs a delivery'],
  ['webhook-signature', 'is set by Herald when it signs a delivery'],
]);

/** Whether a header (any case) is one the transport owns: see TRANSPORT_HEADERS, plus every `Proxy-*`. */
export function isTransportHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return TRANSPORT_HEADERS.has(lower) || lower.startsWith('proxy-');
}

/** A JSON pointer to one header of the destination (RFC 6901 escapes; `/` cannot occur in a token). */
export function headerPointer(name: string): string {
  return `/destination/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Why a header value cannot be sent as given, or undefined when it can. */
export function headerValueProblem(value: string): string | undefined {
  const found = FORBIDDEN_VALUE_CHARACTER.exec(value);
  if (!found) return undefined;
  const code = found[0].codePointAt(0) ?? 0;
  return `contains ${describeCharacter(code)} at position ${found.index}; header values may not hold control characters (CR, LF, NUL, …) or characters beyond U+00FF`;
}

/** The destination headers that could not be sent exactly as given, each named by its JSON pointer. */
export function destinationHeaderErrors(headers: Record<string, string>): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const field = headerPointer(name);
    if (isTransportHeader(name)) {
      errors.push({ field, message: 'is set by the transport, not by the message; Herald does not send it' });
    }
    const heraldSets = HERALD_HEADERS.get(name.toLowerCase());
    if (heraldSets) errors.push({ field, message: heraldSets });
    const problem = headerValueProblem(value);
    if (problem) errors.push({ field, message: problem });
    // Header names are case-insensitive: two spellings of one name would leave only one on the wire.
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) errors.push({ field, message: `repeats ${earlier} (header names ignore case)` });
    else seen.set(name.toLowerCase(), name);
  }
  return errors;
}

/**
 * A `Content-Type` header and the message's `contentType` are one value given twice: the header is sent
 * when `contentType` is absent, and two different values are refused rather than one chosen silently.
 */
export function contentTypeErrors(headers: Record<string, string>, contentType: string | undefined): FieldError[] {
  if (contentType === undefined) return [];
  return Object.entries(headers)
    .filter(([name, value]) => name.toLowerCase() === 'content-type' && value !== contentType)
    .map(([name]) => ({
      field: headerPointer(name),
      message: `differs from contentType (${JSON.stringify(contentType)}); give the content type once`,
    }));
}

/** A character as `U+000D (CR)` for the error message. */
export function describeCharacter(code: number): string {
  const names: Record<number, string> = { 0: 'NUL', 9: 'TAB', 10: 'LF', 13: 'CR', 32: 'space', 127: 'DEL' };
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[code] ? `${hex} (${names[code]})` : hex;
}
